import { BigIntType, EntitySchema } from '@mikro-orm/core';

/** XP sums are bigint in Postgres; read as JS numbers (exact below 2^53). */
const xpColumn = () => new BigIntType('number');

/** The learner snapshot: totals as of `version` (written behind, only moving forward). */
export interface LearnerRow {
  id: string;
  displayName: string | null;
  timeZone: string;
  totalXp: number;
  lessonsCompleted: number;
  xpReachedAt: Date | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const LearnerEntity = new EntitySchema<LearnerRow>({
  name: 'LearnerRow',
  tableName: 'learners',
  properties: {
    id: { type: 'text', primary: true },
    displayName: { type: 'text', fieldName: 'display_name', nullable: true },
    timeZone: { type: 'text', fieldName: 'time_zone' },
    totalXp: { type: xpColumn(), fieldName: 'total_xp' },
    lessonsCompleted: { type: 'integer', fieldName: 'lessons_completed' },
    xpReachedAt: { type: 'Date', fieldName: 'xp_reached_at', nullable: true },
    version: { type: 'integer' },
    createdAt: { type: 'Date', fieldName: 'created_at' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
  },
});

export interface EnrollmentRow {
  id: string;
  learnerId: string;
  courseId: string;
  enrolledAt: Date;
  completedAt: Date | null;
  xpEarned: number;
  xpReachedAt: Date | null;
  /** Distinct quizzes of the course passed, as of `version`. */
  quizzesPassed: number;
  /** Seconds watched in the course's lessons, as of `version`. */
  watchSeconds: number;
  version: number;
}

export const EnrollmentEntity = new EntitySchema<EnrollmentRow>({
  name: 'EnrollmentRow',
  tableName: 'enrollments',
  properties: {
    id: { type: 'uuid', primary: true },
    learnerId: { type: 'text', fieldName: 'learner_id' },
    courseId: { type: 'text', fieldName: 'course_id' },
    enrolledAt: { type: 'Date', fieldName: 'enrolled_at' },
    completedAt: { type: 'Date', fieldName: 'completed_at', nullable: true },
    xpEarned: { type: xpColumn(), fieldName: 'xp_earned' },
    xpReachedAt: { type: 'Date', fieldName: 'xp_reached_at', nullable: true },
    quizzesPassed: { type: 'integer', fieldName: 'quizzes_passed' },
    watchSeconds: { type: new BigIntType('number'), fieldName: 'watch_seconds' },
    version: { type: 'integer' },
  },
});

export interface LessonProgressRow {
  learnerId: string;
  lessonId: string;
  courseId: string;
  completedAt: Date | null;
  /** A VIDEO lesson when completed (videos completed count these). */
  video: boolean;
  /** Seconds watched in all, as of (watchEpoch, watchVersion). */
  watchTimeSeconds: number;
  watchEpoch: number;
  watchVersion: number;
  /** The latest of the completion and the last watch. */
  updatedAt: Date;
}

export const LessonProgressEntity = new EntitySchema<LessonProgressRow>({
  name: 'LessonProgressRow',
  tableName: 'lesson_progress',
  properties: {
    learnerId: { type: 'text', fieldName: 'learner_id', primary: true },
    lessonId: { type: 'text', fieldName: 'lesson_id', primary: true },
    courseId: { type: 'text', fieldName: 'course_id' },
    completedAt: { type: 'Date', fieldName: 'completed_at', nullable: true },
    video: { type: 'boolean' },
    watchTimeSeconds: { type: new BigIntType('number'), fieldName: 'watch_time_seconds' },
    watchEpoch: { type: new BigIntType('number'), fieldName: 'watch_epoch' },
    watchVersion: { type: 'integer', fieldName: 'watch_version' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
  },
});

/** The append-only XP ledger: one row per award, keyed by the award's id. */
export interface XpTransactionRow {
  id: string;
  learnerId: string;
  amount: number;
  reason: string;
  sourceId: string | null;
  courseId: string | null;
  occurredAt: Date;
  /** The board periods of its event's time it counted in: 1 day, 2 ISO week, 4 month. */
  periods: number;
}

export const XpTransactionEntity = new EntitySchema<XpTransactionRow>({
  name: 'XpTransactionRow',
  tableName: 'xp_transactions',
  properties: {
    id: { type: 'text', primary: true },
    learnerId: { type: 'text', fieldName: 'learner_id' },
    amount: { type: xpColumn() },
    reason: { type: 'text' },
    sourceId: { type: 'text', fieldName: 'source_id', nullable: true },
    courseId: { type: 'text', fieldName: 'course_id', nullable: true },
    occurredAt: { type: 'Date', fieldName: 'occurred_at' },
    periods: { type: 'smallint', default: 0 },
  },
});

export interface BadgeAwardRow {
  learnerId: string;
  badgeId: string;
  awardedAt: Date;
}

export const BadgeAwardEntity = new EntitySchema<BadgeAwardRow>({
  name: 'BadgeAwardRow',
  tableName: 'badge_awards',
  properties: {
    learnerId: { type: 'text', fieldName: 'learner_id', primary: true },
    badgeId: { type: 'text', fieldName: 'badge_id', primary: true },
    awardedAt: { type: 'Date', fieldName: 'awarded_at' },
  },
});

/** One quiz attempt, numbered per learner and quiz (append-only; written behind). */
export interface QuizAttemptRow {
  learnerId: string;
  quizId: string;
  attempt: number;
  courseId: string;
  score: number;
  passed: boolean;
  attemptedAt: Date;
  /** The QUIZ_ATTEMPTED event's key: the attempt's id in the API. */
  eventKey: string;
}

export const QuizAttemptEntity = new EntitySchema<QuizAttemptRow>({
  name: 'QuizAttemptRow',
  tableName: 'quiz_attempts',
  properties: {
    learnerId: { type: 'text', fieldName: 'learner_id', primary: true },
    quizId: { type: 'text', fieldName: 'quiz_id', primary: true },
    attempt: { type: 'integer', primary: true },
    courseId: { type: 'text', fieldName: 'course_id' },
    score: { type: 'integer' },
    passed: { type: 'boolean' },
    attemptedAt: { type: 'Date', fieldName: 'attempted_at' },
    eventKey: { type: 'uuid', fieldName: 'event_key' },
  },
});
