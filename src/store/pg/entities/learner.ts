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
    version: { type: 'integer' },
  },
});

export interface LessonProgressRow {
  learnerId: string;
  lessonId: string;
  courseId: string;
  completedAt: Date | null;
  watchTimeSeconds: number;
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
    watchTimeSeconds: { type: 'integer', fieldName: 'watch_time_seconds' },
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

/** The event log: every applied learner event, keyed by the server's event key. */
export interface LearnerEventRow {
  key: string;
  learnerId: string;
  /** The caller's event id (null when the server made it): remembered here forever. */
  clientId: string | null;
  kind: string;
  occurredAt: Date;
  recordedAt: Date;
  /** The outbox entry the event produced. */
  payload: unknown;
}

export const LearnerEventEntity = new EntitySchema<LearnerEventRow>({
  name: 'LearnerEventRow',
  tableName: 'learner_events',
  properties: {
    key: { type: 'uuid', primary: true },
    learnerId: { type: 'text', fieldName: 'learner_id' },
    clientId: { type: 'text', fieldName: 'client_id', nullable: true },
    kind: { type: 'text' },
    occurredAt: { type: 'Date', fieldName: 'occurred_at' },
    recordedAt: { type: 'Date', fieldName: 'recorded_at' },
    payload: { type: 'json' },
  },
});

/** An outbox entry a consumer gave up on, with its error. */
export interface DeadLetterRow {
  id: number;
  consumerGroup: string;
  stream: string;
  entryId: string;
  kind: string | null;
  payload: Buffer;
  error: string;
  failedAt: Date;
}

export const DeadLetterEntity = new EntitySchema<DeadLetterRow>({
  name: 'DeadLetterRow',
  tableName: 'outbox_dead_letters',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    consumerGroup: { type: 'text', fieldName: 'consumer_group' },
    stream: { type: 'text' },
    entryId: { type: 'text', fieldName: 'entry_id' },
    kind: { type: 'text', nullable: true },
    payload: { type: 'blob' },
    error: { type: 'text' },
    failedAt: { type: 'Date', fieldName: 'failed_at' },
  },
});

/** Settings fixed for the life of a deployment (the partition count). */
export interface DeploymentSettingRow {
  key: string;
  value: string;
  setAt: Date;
}

export const DeploymentSettingEntity = new EntitySchema<DeploymentSettingRow>({
  name: 'DeploymentSettingRow',
  tableName: 'deployment_settings',
  properties: {
    key: { type: 'text', primary: true },
    value: { type: 'text' },
    setAt: { type: 'Date', fieldName: 'set_at' },
  },
});
