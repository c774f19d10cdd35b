import { emptyLearner, type LearnerState, type StateNeeds, type XpTransaction } from '../domain/learners/state';
import type { LearnerStore, LedgerCursor } from '../domain/ports';
import type { Keys } from './redis/keys';
import { BadgeAlreadyHeld, LearnerHotStore, LearnerNotLoaded } from './redis/learners';
import type { LearnerRepository } from './pg/learners';

/**
 * The learner store the domain uses: Redis first, Postgres behind. A learner whose hash is
 * missing from Redis (never seen, flushed, evicted, Redis restarted) is hydrated from Postgres
 * on first touch. Hydration runs once per learner per process at a time (single flight) and
 * the Lua guard makes it write once across instances.
 */
export class HydratingLearnerStore implements LearnerStore {
  private readonly inflight = new Map<string, Promise<boolean>>();
  /** Hydrations that read Postgres (tests and metrics). */
  hydrations = 0;

  constructor(
    private readonly hot: LearnerHotStore,
    private readonly repo: LearnerRepository,
    private readonly keys: Keys,
    /**
     * Writes a partition's outbox to Postgres before a learner of it is hydrated, or null to
     * skip that. It is needed only when Redis may evict a learner's hash while their outbox
     * entries survive (an evicting maxmemory-policy); with noeviction a missing hash means the
     * learner is new or Redis lost everything, outbox included.
     */
    private readonly flushPartition: ((stream: string) => Promise<void>) | null,
  ) {}

  async get(learnerId: string): Promise<LearnerState> {
    const state = await this.hot.read(learnerId);
    if (state) return state;
    await this.hydrate(learnerId, true);
    return (await this.hot.read(learnerId)) ?? emptyLearner(learnerId);
  }

  async find(learnerId: string): Promise<LearnerState | null> {
    const state = await this.hot.read(learnerId);
    if (state) return state;
    if (!(await this.hydrate(learnerId, false))) return null;
    return this.hot.read(learnerId);
  }

  async findMany(learnerIds: readonly string[]): Promise<(LearnerState | null)[]> {
    const states = await this.hot.readMany(learnerIds);
    return Promise.all(states.map((s, i) => s ?? this.find(learnerIds[i]!)));
  }

  enroll(learnerId: string, courseId: string, enrollmentId: string, now: number, needs: StateNeeds): Promise<LearnerState> {
    return this.withHydration(learnerId, () => this.hot.enroll(learnerId, courseId, enrollmentId, now, needs));
  }

  completeLesson(learnerId: string, lesson: { id: string; courseId: string; xp: number }, txId: string, now: number, needs: StateNeeds): Promise<LearnerState> {
    return this.withHydration(learnerId, () => this.hot.completeLesson(learnerId, lesson, txId, now, needs));
  }

  async awardBadge(learnerId: string, badgeId: string, xp: number, txId: string, now: number, needs: StateNeeds): Promise<LearnerState | null> {
    try {
      return await this.withHydration(learnerId, () => this.hot.awardBadge(learnerId, badgeId, xp, txId, now, needs));
    } catch (err) {
      if (err instanceof BadgeAlreadyHeld) return null;
      throw err;
    }
  }

  /** Postgres rows merged with the newest awards still on their way there (read-your-writes). */
  async xpHistory(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]> {
    const [recent, stored] = await Promise.all([this.hot.recentXp(learnerId), this.repo.history(learnerId, limit, after)]);
    const byId = new Map<string, XpTransaction>();
    for (const tx of stored) byId.set(tx.id, tx);
    for (const tx of recent) {
      if (after && (tx.occurredAt > after.occurredAt || (tx.occurredAt === after.occurredAt && tx.id >= after.id))) continue;
      if (!byId.has(tx.id)) byId.set(tx.id, tx);
    }
    return [...byId.values()]
      .sort((a, b) => b.occurredAt - a.occurredAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .slice(0, limit);
  }

  /** Run a learner script; when the learner is not in Redis, hydrate and run it again. */
  private async withHydration<T>(learnerId: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof LearnerNotLoaded) || attempt >= 2) throw err;
        await this.hydrate(learnerId, true);
      }
    }
  }

  /**
   * Load a learner from Postgres into Redis. With `create`, a learner Postgres does not know
   * starts empty; without it, nothing is written for strangers.
   * @returns whether the learner is now in Redis
   */
  private hydrate(learnerId: string, create: boolean): Promise<boolean> {
    const running = this.inflight.get(learnerId);
    if (running) return running.then((loaded) => loaded || (create ? this.hydrate(learnerId, true) : false));
    const job = (async () => {
      if (this.flushPartition) await this.flushPartition(this.keys.outboxOf(learnerId));
      this.hydrations += 1;
      const stored = await this.repo.load(learnerId);
      if (!stored && !create) return false;
      await this.hot.hydrate(stored ?? emptyLearner(learnerId));
      return true;
    })().finally(() => this.inflight.delete(learnerId));
    this.inflight.set(learnerId, job);
    return job;
  }
}
