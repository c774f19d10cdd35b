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
  /** Lessons completed in this course (counted when completed, as the course was then). */
  lessonsCompleted: number;
  completedAt: number | null;
}

/**
 * Everything hot about one learner, read in one step from the store. After a change, the
 * maps hold only what the change asked for (see StateNeeds; `lessons` stays empty); reads
 * return everything.
 */
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

/**
 * The part of a learner's state a change needs back (the counters always come): the
 * enrollments of `courseIds` and which of `badgeIds` are held. Asking only for these keeps a
 * change's cost independent of how much history the learner has.
 */
export interface StateNeeds {
  courseIds: readonly string[];
  badgeIds: readonly string[];
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
