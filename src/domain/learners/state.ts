/** A learner's enrollment in one course, as the hot store holds it. */
export interface EnrollmentState {
  id: string;
  courseId: string;
  /** ms since epoch */
  enrolledAt: number;
  /** XP earned in this course (lessons, later quizzes). */
  xpEarned: number;
  /** When `xpEarned` last changed (ties on the course board); null before any XP. */
  xpAt: number | null;
  completedAt: number | null;
}

/** Everything hot about one learner, read in one step from the store. */
export interface LearnerState {
  id: string;
  totalXp: number;
  /** Bumped by every change; orders snapshots and board updates. */
  version: number;
  /** When `totalXp` last changed (ties on the global board); null before any XP. */
  xpAt: number | null;
  lessonsCompleted: number;
  /** lessonId -> completedAt (ms) */
  lessons: ReadonlyMap<string, number>;
  /** courseId -> enrollment */
  enrollments: ReadonlyMap<string, EnrollmentState>;
  /** badgeId -> awardedAt (ms) */
  badges: ReadonlyMap<string, number>;
}

/** A learner nobody has seen yet. */
export function emptyLearner(id: string): LearnerState {
  return {
    id,
    totalXp: 0,
    version: 0,
    xpAt: null,
    lessonsCompleted: 0,
    lessons: new Map(),
    enrollments: new Map(),
    badges: new Map(),
  };
}

/** One XP award as `xpHistory` shows it. */
export interface XpTransaction {
  id: string;
  amount: number;
  reason: string;
  sourceId: string | null;
  /** ms since epoch */
  occurredAt: number;
}
