/**
 * What the domain needs from the outside world. `src/store` and `src/subscriptions`
 * implement these; services take them as constructor arguments.
 */
import type { Badge, Catalog, Course } from './catalog/types';
import type { LearnerEvent } from './events';
import type { Level } from './levels/rules';
import type { LearnerState, StateNeeds, XpTransaction } from './learners/state';
import type { RankedEntry } from './boards/rules';

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

export interface LearnerStore {
  /** The learner's state, hydrated from the durable record when needed; strangers start empty. */
  get(learnerId: string): Promise<LearnerState>;
  /** The learner's state when the learner is known anywhere, without creating anything. */
  find(learnerId: string): Promise<LearnerState | null>;
  findMany(learnerIds: readonly string[]): Promise<(LearnerState | null)[]>;
  /**
   * Changes return the learner's counters and what `needs` asks for.
   * @throws AlreadyEnrolled
   */
  enroll(learnerId: string, courseId: string, enrollmentId: string, now: number, needs: StateNeeds): Promise<LearnerState>;
  /** @throws NotEnrolled, AlreadyCompleted */
  completeLesson(learnerId: string, lesson: { id: string; courseId: string; xp: number }, txId: string, now: number, needs: StateNeeds): Promise<LearnerState>;
  /** @returns the state after the award, or null when the badge was already held */
  awardBadge(learnerId: string, badgeId: string, xp: number, txId: string, now: number, needs: StateNeeds): Promise<LearnerState | null>;
  /** A page of XP awards, newest first, including awards not yet written behind. */
  xpHistory(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]>;
}

export interface BoardScores {
  /** Put a score on a board unless a newer version was applied; announces the move. */
  setScore(boardId: string, learnerId: string, score: number, reachedAt: number, version: number): Promise<{ previousRank: number | null; rank: number | null } | null>;
  range(boardId: string, offset: number, count: number): Promise<RankedEntry[]>;
  count(boardId: string): Promise<number>;
  ranks(boardId: string, learnerIds: readonly string[]): Promise<(RankedEntry | null)[]>;
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
  /** Announce something that happened to a learner (all instances see it). */
  learnerEvent(event: LearnerEvent): Promise<void>;
  /** Tell every instance the catalog changed. */
  catalogChanged(): Promise<void>;
}
