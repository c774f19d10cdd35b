import type { Logger } from '../logger';
import type { BehindReason } from './outbox/postgres/write';
import type { LearnerRepository } from './pg/learners';
import type { BoardStore } from './redis/boards';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import { parsePeriodKey } from '../domain/boards/periods';
import { boardIdOf } from '../domain/boards/rules';
import type { PeriodScores } from '../domain/learners/state';
import type { ScoreUpdate } from './redis/boards';
import { decodePeriodScores } from './redis/learnerHash';

export interface RepairDeps {
  keys: Keys;
  hot: LearnerHotStore;
  repo: LearnerRepository;
  boards: BoardStore;
  /** Write everything a partition's outbox holds to Postgres. */
  flushPartition: (partition: number) => Promise<void>;
  log: Logger;
}

/** What a repair did. */
export type RepairOutcome = 'repaired' | 'unknown';

/** Counts of repairs since start (for /ready and logs). */
export interface RepairStats {
  /** Learners the write-behind found Redis to be behind for. */
  detected: number;
  repaired: number;
  failed: number;
}

/** Tries at a learner whose hash keeps moving while it is repaired. */
const ATTEMPTS = 5;

/**
 * Rebuilds a learner Redis is behind for (restored from an older snapshot, a failover that
 * lost writes) from Postgres, the durable record:
 * 1. note the hash's version, and write the learner's partition outbox to Postgres, so every
 *    change the hash holds up to that version is there;
 * 2. recompute the learner's snapshots from the ledger and progress rows (the snapshots came
 *    from the Redis that was behind);
 * 3. replace the hash with what Postgres now says, if it is still at the noted version (else
 *    start again), under a new epoch;
 * 4. put that state on the learner's boards, which the new epoch lets past any guard an
 *    earlier epoch left: the all-time boards, and the period boards still retained, from the
 *    ledger (a period the old hash had a score in and the ledger has none takes the learner off).
 * Safe to run at any time, on any learner, from any process (verify --repair does).
 */
export class LearnerRepair {
  readonly stats: RepairStats = { detected: 0, repaired: 0, failed: 0 };
  private readonly queue = new Map<string, BehindReason | 'verify'>();
  private running: Promise<void> | null = null;

  constructor(private readonly deps: RepairDeps) {}

  /** Repair these learners in the background, one at a time (the write-behind calls it). */
  enqueue(learners: ReadonlyMap<string, BehindReason>): void {
    for (const [id, reason] of learners) {
      if (this.queue.has(id)) continue;
      this.stats.detected += 1;
      this.deps.log.warn({ learnerId: id, reason }, 'Redis is behind Postgres for a learner: rebuilding them from Postgres');
      this.queue.set(id, reason);
    }
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when the queue is empty (tests, stop). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const [id, reason] = this.queue.entries().next().value!;
      this.queue.delete(id);
      try {
        const outcome = await this.repair(id);
        this.stats.repaired += 1;
        this.deps.log.info({ learnerId: id, reason, outcome }, 'learner rebuilt from Postgres');
      } catch (err) {
        this.stats.failed += 1;
        this.deps.log.error({ learnerId: id, reason, err: (err as Error).message }, 'learner repair failed; `npm run verify -- --repair` retries it');
      }
    }
  }

  /**
   * Rebuild one learner's hash and board entries from Postgres now.
   * @returns `unknown` when Postgres has never seen the learner (nothing to rebuild from)
   * @throws Error when the hash kept moving through every attempt, or a store failed
   */
  async repair(learnerId: string): Promise<RepairOutcome> {
    const { hot, repo } = this.deps;
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const seen = await hot.stamp(learnerId);
      const periodsBefore = decodePeriodScores((await hot.raw(learnerId))?.pp);
      await this.deps.flushPartition(this.deps.keys.partitionOf(learnerId));
      await repo.recomputeFromLedger(learnerId);
      const state = await repo.load(learnerId);
      if (!state) return 'unknown';
      let epoch: number;
      if (seen === null) {
        if (!(await hot.hydrate(state))) continue;
        const now = await hot.stamp(learnerId);
        if (!now) continue;
        epoch = now.epoch;
      } else {
        const replaced = await hot.replace(state, seen.version);
        if (replaced === 'moved' || replaced === 'absent') continue;
        epoch = replaced.epoch;
      }
      const version = state.version;
      const periods = (await repo.audit([learnerId])).get(learnerId)?.periods ?? new Map<string, PeriodScores>();
      await Promise.all([
        ...[...periodBoardScores(periodsBefore, periods)].map(([boardId, s]) =>
          this.deps.boards.setScores(boardId, [{ learnerId, score: s.xp, reachedAt: s.at, epoch, version } satisfies ScoreUpdate]),
        ),
        this.deps.boards.setScores(boardIdOf({ period: 'ALL_TIME', courseId: null }), [
          { learnerId, score: state.totalXp, reachedAt: state.xpAt ?? 0, epoch, version },
        ]),
        ...[...state.enrollments.values()].map((e) =>
          this.deps.boards.setScores(boardIdOf({ period: 'ALL_TIME', courseId: e.courseId }), [
            { learnerId, score: e.xpEarned, reachedAt: e.xpAt ?? 0, epoch, version },
          ]),
        ),
      ]);
      return 'repaired';
    }
    throw new Error(`learner ${learnerId} kept changing during ${ATTEMPTS} repair attempts`);
  }
}

/**
 * A learner's score on each period board `after` (the ledger) names, and 0 on those only
 * `before` (the old hash) names, so a score the ledger does not hold leaves the board. Pure.
 */
export function periodBoardScores(before: ReadonlyMap<string, PeriodScores>, after: ReadonlyMap<string, PeriodScores>): Map<string, { xp: number; at: number }> {
  const out = new Map<string, { xp: number; at: number }>();
  const zero = { xp: 0, at: 0 };
  for (const [scores, old] of [[before, true], [after, false]] as const) {
    for (const [periodKey, s] of scores) {
      const period = parsePeriodKey(periodKey)?.kind;
      if (!period) continue;
      out.set(boardIdOf({ period, courseId: null, periodKey }), old ? zero : s.global);
      for (const [courseId, c] of s.courses) out.set(boardIdOf({ period, courseId, periodKey }), old ? zero : c);
    }
  }
  return out;
}
