import type { GoalDay } from '../engagement/goals';
/** A learner's enrollment in one course, as the hot store holds it. */
export interface EnrollmentState {
  id: string;
  courseId: string;
  /** ms since epoch */
  enrolledAt: number;
  /** XP earned in this course (lessons and quizzes). */
  xpEarned: number;
  /** When `xpEarned` was reached (ties on the course board); null before any XP. */
  xpAt: number | null;
  /** Lessons completed in this course (counted when completed, as the course was then). */
  lessonsCompleted: number;
  /** Distinct quizzes of this course passed (counted when first passed). */
  quizzesPassed: number;
  /** Seconds watched in this course's lessons (`cw:<course>`). */
  watchSeconds: number;
  completedAt: number | null;
  /** The certificate issued when the course was completed (its code); null before. */
  certificateCode: string | null;
}

/** A learner's watch time of one lesson. */
export interface LessonWatch {
  /** Seconds watched in all. */
  seconds: number;
  /** The latest of the last watch and the completion (ms), as `lessonProgress.updatedAt` shows it. */
  at: number;
}

/** A learner's record of one quiz. */
export interface QuizState {
  /** Attempts so far (the last attempt's number). */
  attempts: number;
  /** Best score of any attempt. */
  bestScore: number;
  /** When first passed (ms); null while never passed. */
  passedAt: number | null;
}

/** A learner's counters: what most reads (level, board cards, totals) need, read in O(1). */
export interface LearnerCounters {
  id: string;
  /** Bumped by every change; orders snapshots and board updates. */
  version: number;
  totalXp: number;
  /** When `totalXp` was reached (ties on the global board); null before any XP. */
  xpAt: number | null;
  lessonsCompleted: number;
}

/** The hash counters `LearnerStats` reads (one HMGET), zeros for a learner nobody has seen. */
export interface StatCounters {
  /** The learner's version in Redis (0 for a stranger): what Postgres must have written for a read of history to be complete. */
  version: number;
  lessonsCompleted: number;
  /** `vc`: VIDEO lessons completed. */
  videosCompleted: number;
  /** `wt`: seconds watched in all. */
  watchSeconds: number;
  /** `qt`: quiz attempts. */
  quizzesTaken: number;
  /** `qpc`: distinct quizzes passed. */
  quizzesPassed: number;
  /** `qbs` / `qbn`: sum and count of the quizzes' best scores. */
  bestScoreSum: number;
  bestScoreCount: number;
}

/** What a learner has done in some lessons and quizzes: the facts mastery is computed from. */
export interface LessonQuizFacts {
  /** The lessons (of those asked) the learner completed. */
  completedLessons: ReadonlySet<string>;
  /** quizId -> best score (0..100), for the quizzes (of those asked) the learner attempted. */
  bestScores: ReadonlyMap<string, number>;
}

/** One XP award as `xpHistory` shows it. */
export interface XpTransaction {
  id: string;
  amount: number;
  reason: string;
  sourceId: string | null;
  /** ms since epoch (the event's time) */
  occurredAt: number;
}

/** A learner's XP in one board period (DAILY, WEEKLY, MONTHLY), and when it was reached (ms, ties). */
export interface PeriodScore {
  xp: number;
  at: number;
}

/** A learner's scores in one period: on the global board and on each course's board they earned course XP in. */
export interface PeriodScores {
  global: PeriodScore;
  courses: ReadonlyMap<string, PeriodScore>;
}

/** Everything hot about one learner: what hydration writes and rebuilds restore. */
export interface LearnerState extends LearnerCounters {
  /** lessonId -> completedAt (ms) */
  lessons: ReadonlyMap<string, number>;
  /** courseId -> enrollment */
  enrollments: ReadonlyMap<string, EnrollmentState>;
  /** badgeId -> awardedAt (ms) */
  badges: ReadonlyMap<string, number>;
  /** quizId -> the learner's record of it (quizzes attempted at least once) */
  quizzes: ReadonlyMap<string, QuizState>;
  /** lessonId -> watch time (lessons watched at least once) */
  watched: ReadonlyMap<string, LessonWatch>;
  /** VIDEO lessons completed (`vc`; counted by the kind the lesson had when completed). */
  videosCompleted: number;
  /**
   * The learner's active learning days, as day numbers (days since 1970-01-01 of each calendar
   * date, in the zone in force when its event occurred): `d:<day>`, `ad` and the streak.
   */
  activeDays: readonly number[];
  /** The display name (`dn`), null for none. */
  displayName: string | null;
  /** The zone history, encoded (`tzh`; src/domain/engagement/zones.ts), '' for none (UTC). */
  zoneHistory: string;
  /** Standing daily-goal targets (`gt`, "tx|tl|tw|tq"; '' for none) and the day they apply from (`gtd`). */
  goalTargets: string;
  goalTargetsDay: number;
  /** The most recent learning days toward goals (`gr`, at most GOAL_DAYS), newest first. */
  goalDays: readonly GoalDay[];
  /** Daily goals completed in all (`gc`). */
  goalsCompleted: number;
  /** The newest awards, newest first (they may not have reached Postgres yet). */
  recentXp: readonly XpTransaction[];
  /** periodKey -> the learner's scores in the board periods that can still change (the hash field `pp`). */
  periods?: ReadonlyMap<string, PeriodScores>;
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
    quizzes: new Map(),
    watched: new Map(),
    videosCompleted: 0,
    activeDays: [],
    displayName: null,
    zoneHistory: '',
    goalTargets: '',
    goalTargetsDay: 0,
    goalDays: [],
    goalsCompleted: 0,
    recentXp: [],
  };
}
