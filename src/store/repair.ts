import type { Logger } from '../logger';
import type { BehindReason } from './outbox/postgres/write';
import type { LearnerRepository } from './pg/learners';
import type { BoardStore } from './redis/boards';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import { boardIdOf } from '../domain/boards/rules';

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
 *    earlier epoch left.
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
      await Promise.all([
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
