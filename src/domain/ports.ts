import type { GoalDay } from './engagement/goals';
/**
 * What the domain needs from the outside world. `src/store` and `src/subscriptions`
 * implement these; services take them as constructor arguments.
 */
import type { EngagementFacts } from './engagement/facts';
import type { Badge, Catalog, Course } from './catalog/types';
import type { PreparedEvent } from './events/prepare';
import type { AttemptCursor, EventEffects, Outcome, QuizAttemptRecord } from './events/types';
import type { Level } from './levels/rules';
import type { EnrollmentState, LearnerCounters, LessonQuizFacts, StatCounters, XpTransaction } from './learners/state';
import type { ActivityRecord, ActivityTotals, DayRow } from './activity/service';
import type { RankedEntry } from './boards/rules';
import type { IssuedCertificate } from './progress/certificates';
import type { LessonState } from './progress/lessons';

/** The clock; injected so rules and tests are deterministic. */
export interface Clock {
  /** ms since epoch */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Where a page of the ledger resumes. */
export interface LedgerCursor {
  occurredAt: number;
  id: string;
}

/** The one way in: learner events applied atomically, one script per kind. */
export interface EventStore {
  /**
   * Apply events in one go; those of one learner in the order given.
   * @returns one outcome per event, in the same order
   */
  apply(events: readonly PreparedEvent[]): Promise<Outcome[]>;
  /** The first results of caller event ids, from the durable event log (past the Redis window). */
  firstResults(learnerId: string, clientIds: readonly string[]): Promise<Map<string, EventEffects>>;
}

/** Reads of learner state, each costing what it asks for. */
export interface LearnerReads {
  /** Counters of learners known anywhere; null for strangers. */
  counters(learnerIds: readonly string[]): Promise<(LearnerCounters | null)[]>;
  /**
   * One learner's counters, or null for a stranger, calling `beforeColdRead` (which may throw)
   * before Postgres is asked: neither Redis nor the memory of recent strangers knows the id.
   */
  lookup(learnerId: string, beforeColdRead: () => void): Promise<LearnerCounters | null>;
  enrollments(learnerId: string): Promise<EnrollmentState[]>;
  enrollment(learnerId: string, courseId: string): Promise<EnrollmentState | null>;
  /** badgeId -> awardedAt */
  badges(learnerId: string): Promise<Map<string, number>>;
  /** A page of XP awards, newest first, including awards not yet written behind. */
  xpHistory(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]>;
  /** Which of `lessonIds` the learner completed and their best scores in `quizIds`, in one read. */
  lessonQuizFacts(learnerId: string, lessonIds: readonly string[], quizIds: readonly string[]): Promise<LessonQuizFacts>;
  /** A learner's quiz attempts (of one quiz, or all), oldest first, at most `limit`, including attempts not yet written behind. */
  quizAttempts(learnerId: string, quizId: string | null, limit: number, after?: AttemptCursor | null): Promise<QuizAttemptRecord[]>;
  /** The certificate with this (canonical) code, as Postgres holds it; null when there is none (yet). */
  certificate(code: string): Promise<IssuedCertificate | null>;
  /** Per lesson asked: completion, watched seconds, last watch (one read of the learner's hash). */
  lessonStates(learnerId: string, lessonIds: readonly string[]): Promise<Map<string, LessonState>>;
  /** The hash counters of `LearnerStats` (one HMGET); zeros for a stranger. */
  statCounters(learnerId: string): Promise<StatCounters>;
  /** Display name, zone history and streak (one HMGET; `at` picks the days checked for "active today"); empty for a stranger. */
  engagement(learnerId: string, at: number): Promise<EngagementFacts>;
  /** A learning day toward goals as Postgres holds it (days older than the hash keeps); null when none. */
  goalDay(learnerId: string, day: number): Promise<GoalDay | null>;
  /**
   * Counter fields of the learner's hash (e.g. `xp`, `cc:<course>`, `b:<badge>`), in the order
   * asked, as the scripts read them (absent: 0), with one read; zeros for a stranger.
   */
  numbers(learnerId: string, fields: readonly string[]): Promise<number[]>;
}

/**
 * Activity history and learning days, kept in Postgres by the write-behind. Every read is
 * read-your-writes: `totals` is the barrier the others wait on.
 */
export interface ActivityReads {
  /**
   * The learner's activity totals once Postgres holds every change up to `redisVersion` (the
   * learner's version in Redis): when Postgres is behind, the learner's partition is written
   * behind first, then read again.
   */
  totals(learnerId: string, redisVersion: number): Promise<ActivityTotals>;
  /** The learner's days in [from, to] that have activity ('YYYY-MM-DD' -> row). */
  days(learnerId: string, from: string, to: string): Promise<Map<string, DayRow>>;
  /** At most `limit` activities, newest first (occurredAt, then id, descending), after `after`. */
  recent(learnerId: string, limit: number, after: LedgerCursor | null): Promise<ActivityRecord[]>;
}

export interface BoardScores {
  /** `count` entries from rank `offset + 1` and the number of ranked learners, in one read. */
  page(boardId: string, offset: number, count: number): Promise<{ entries: RankedEntry[]; total: number }>;
  ranks(boardId: string, learnerIds: readonly string[]): Promise<(RankedEntry | null)[]>;
  /** The learner's entry and `radius` entries on each side; empty when not ranked. */
  around(boardId: string, learnerId: string, radius: number): Promise<RankedEntry[]>;
}

export interface CatalogStore {
  load(): Promise<Catalog>;
  isEmpty(): Promise<boolean>;
  /** @throws BadInput when an id belongs to another course */
  saveCourse(course: Course): Promise<void>;
  saveBadge(badge: Badge): Promise<void>;
  saveLevels(levels: readonly Level[] | null): Promise<void>;
}

export interface EventPublisher {
  /** Tell every instance the catalog changed. */
  catalogChanged(): Promise<void>;
}

/** Whether the write path can take new changes now (the outbox has room). */
export interface WriteGate {
  /** Reserve room for `events` changes. @throws Unavailable when there is none */
  check(events?: number): void;
}
