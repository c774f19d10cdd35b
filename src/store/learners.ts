import type { GoalDay } from '../domain/engagement/goals';
import { NO_ENGAGEMENT, type EngagementFacts } from '../domain/engagement/facts';
import type { PreparedEvent } from '../domain/events/prepare';
import type { AttemptCursor, EventEffects, Outcome, QuizAttemptRecord } from '../domain/events/types';
import { type EnrollmentState, type LearnerCounters, type LearnerState, type LessonQuizFacts, type StatCounters, type XpTransaction } from '../domain/learners/state';
import type { EventStore, LearnerReads, LedgerCursor } from '../domain/ports';
import type { IssuedCertificate } from '../domain/progress/certificates';
import type { LessonState } from '../domain/progress/lessons';
import { unavailableStore } from './faults';
import { Slots } from './slots';
import { effectsOfEntry, outboxEntrySchema } from './outbox/entry';
import type { LearnerRepository } from './pg/learners';
import { LearnerHotStore, type ScriptOutcome } from './redis/learners';

/**
 * The learner store the domain uses: Redis first, Postgres behind. A learner whose hash is
 * missing from Redis (never seen, flushed, evicted, Redis restarted) is hydrated from
 * Postgres on first touch, with one statement. Hydration runs once per learner per process at
 * a time (single flight) and the Lua guard makes it write once across instances.
 */
/** How long "Postgres has never seen this learner" is believed by default (UNKNOWN_LEARNER_CACHE_MS). */
export const STRANGER_TTL_MS = 30_000;
/** Most strangers remembered at once. */
const STRANGERS_MAX = 10_000;

/** Most learner scripts this process has in flight at once, all requests together (see `apply`). */
export const MAX_SCRIPTS_IN_FLIGHT = 128;

export class HydratingLearnerStore implements EventStore, LearnerReads {
  private readonly inflight = new Map<string, Promise<LearnerState | null>>();
  /**
   * Learners Postgres did not know when last asked (id -> until when that is believed), so a
   * stranger's repeated reads do not each cost a Postgres query. Only consulted by reads when
   * Redis has no hash, and a learner's first change writes one (on whichever instance), so it
   * never hides a change while Redis holds it; writes never consult it. Should Redis lose a
   * learner created meanwhile, reads answer "unknown" for at most the TTL.
   */
  private readonly strangers = new Map<string, number>();
  /** Hydrations that read Postgres (tests and metrics). */
  hydrations = 0;

  constructor(
    private readonly hot: LearnerHotStore,
    private readonly repo: LearnerRepository,
    /**
     * Writes a partition's outbox to Postgres before a learner of it is hydrated, or null to
     * skip that. Needed only when Redis may evict a learner's hash while their outbox entries
     * survive (an evicting maxmemory-policy); with noeviction a missing hash means the learner
     * is new or Redis lost everything, outbox included.
     */
    private readonly flushPartition: ((learnerId: string) => Promise<void>) | null,
    /**
     * `strangerTtlMs`: how long "Postgres has never seen this learner" is believed;
     * `beforeWrite`: resolves when changes may go to Redis (RollbackGuard.ready), throws Unavailable otherwise.
     */
    private readonly options: {
      strangerTtlMs?: number;
      beforeWrite?: () => Promise<void>;
      /** Writes the learner's partition outbox to Postgres: reads of history call it when Postgres is short of what Redis counts. */
      flushLearner?: (learnerId: string) => Promise<void>;
    } = {},
  ) {}

  async lookup(learnerId: string, beforeColdRead: () => void): Promise<LearnerCounters | null> {
    const [hot] = await this.hot.counters([learnerId]);
    if (hot) return hot;
    if (this.isStranger(learnerId)) return null;
    beforeColdRead();
    return this.readLoaded(learnerId, async (id) => (await this.hot.counters([id]))[0] ?? null);
  }

  /** Whether reads may take the learner for a stranger without asking Postgres. */
  private isStranger(learnerId: string): boolean {
    const until = this.strangers.get(learnerId);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.strangers.delete(learnerId);
    return false;
  }

  /**
   * Scripts in flight, all requests together: a command's timeout (REDIS_COMMAND_TIMEOUT_MS)
   * counts from when it is issued, so many large batches at once would queue thousands of
   * scripts on the connection and time out the tail on a busy but healthy Redis; past the
   * limit they wait here, where no timeout runs.
   */
  private readonly scriptSlots = new Slots(MAX_SCRIPTS_IN_FLIGHT);

  private runScript(e: PreparedEvent, fresh?: boolean): Promise<ScriptOutcome> {
    return this.scriptSlots.run(() => this.hot.run(e, fresh));
  }

  async apply(events: readonly PreparedEvent[]): Promise<Outcome[]> {
    await this.options.beforeWrite?.();
    // Issued in order on one connection (one node, on a cluster), through the script slots
    // (first come, first served), which keeps each learner's order.
    const outcomes: ScriptOutcome[] = await Promise.all(events.map((e) => this.runScript(e)));
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const waiting = new Map<string, number[]>();
      outcomes.forEach((o, i) => {
        if (o.status !== 'not_loaded') return;
        const id = events[i]!.event.learnerId;
        const list = waiting.get(id);
        if (list) list.push(i);
        else waiting.set(id, [i]);
      });
      if (waiting.size === 0) break;
      await Promise.all(
        [...waiting].map(async ([learnerId, indexes]) => {
          // Known to Postgres: hydrate, then run again. A stranger is not written anywhere: the
          // script treats them as empty and writes their hash only if the event applies.
          const fresh = (await this.load(learnerId, { forWrite: true })) === null;
          for (const i of indexes) outcomes[i] = await this.runScript(events[i]!, fresh);
        }),
      );
    }
    return outcomes.map((o, i) => {
      if (o.status === 'not_loaded') throw new Error(`Learner ${events[i]!.event.learnerId} could not be loaded into Redis`);
      if (o.status === 'applied') this.strangers.delete(events[i]!.event.learnerId);
      return o;
    });
  }

  async firstResults(learnerId: string, clientIds: readonly string[]): Promise<Map<string, EventEffects>> {
    const payloads = await this.repo.eventsByClientId(learnerId, clientIds);
    const out = new Map<string, EventEffects>();
    for (const [id, payload] of payloads) {
      const parsed = outboxEntrySchema.safeParse(payload);
      if (parsed.success) out.set(id, { ...effectsOfEntry(parsed.data), enrollment: null });
    }
    return out;
  }

  async counters(learnerIds: readonly string[]): Promise<(LearnerCounters | null)[]> {
    const found = await this.hot.counters(learnerIds);
    return Promise.all(found.map(async (c, i) => c ?? this.readLoaded(learnerIds[i]!, async (id) => (await this.hot.counters([id]))[0] ?? null)));
  }

  async enrollments(learnerId: string): Promise<EnrollmentState[]> {
    const read = (await this.hot.read(learnerId, ['enrollments'])) ?? (await this.readLoaded(learnerId, (id) => this.hot.read(id, ['enrollments'])));
    return read?.enrollments ?? [];
  }

  async enrollment(learnerId: string, courseId: string): Promise<EnrollmentState | null> {
    // Null both when not enrolled and when not in Redis: a miss loads the learner and asks again.
    return (await this.hot.enrollment(learnerId, courseId)) ?? this.readLoaded(learnerId, (id) => this.hot.enrollment(id, courseId));
  }

  async badges(learnerId: string): Promise<Map<string, number>> {
    const read = (await this.hot.read(learnerId, ['badges'])) ?? (await this.readLoaded(learnerId, (id) => this.hot.read(id, ['badges'])));
    return read?.badges ?? new Map();
  }

  async lessonQuizFacts(learnerId: string, lessonIds: readonly string[], quizIds: readonly string[]): Promise<LessonQuizFacts> {
    const read = (id: string) => this.hot.lessonQuizFacts(id, lessonIds, quizIds);
    return (await read(learnerId)) ?? (await this.readLoaded(learnerId, read)) ?? { completedLessons: new Set(), bestScores: new Map() };
  }

  /**
   * After a Redis miss: load the learner, then read Redis again (null for a stranger). Never the
   * loaded state itself: when another request or instance hydrated first, Redis may already hold
   * changes Postgres has not received yet.
   */
  private async readLoaded<T>(learnerId: string, read: (learnerId: string) => Promise<T | null>): Promise<T | null> {
    return (await this.load(learnerId)) ? read(learnerId) : null;
  }

  /** Postgres rows merged with the newest awards still on their way there (read-your-writes). */
  async xpHistory(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]> {
    const [read, stored] = await Promise.all([
      this.hot.read(learnerId, ['recentXp']),
      // While Postgres is down, the newest awards (kept in Redis) still answer.
      this.repo.history(learnerId, limit, after).catch((err) => {
        if (unavailableStore(err) === 'postgres') return [];
        throw err;
      }),
    ]);
    const byId = new Map<string, XpTransaction>();
    for (const tx of stored) byId.set(tx.id, tx);
    for (const tx of read?.recentXp ?? []) {
      if (after && (tx.occurredAt > after.occurredAt || (tx.occurredAt === after.occurredAt && tx.id >= after.id))) continue;
      if (!byId.has(tx.id)) byId.set(tx.id, tx);
    }
    return [...byId.values()].sort((a, b) => b.occurredAt - a.occurredAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, limit);
  }

  /**
   * Attempts from Postgres, oldest first. Redis counts the learner's attempts; when Postgres
   * holds fewer, some are still on their way through the outbox, so the learner's partition is
   * written behind first (a read-your-writes barrier, paid only right after an attempt).
   */
  async quizAttempts(learnerId: string, quizId: string | null, limit: number, after: AttemptCursor | null = null): Promise<QuizAttemptRecord[]> {
    if (limit <= 0) return [];
    const count = (id: string) => this.hot.quizAttemptCount(id, quizId);
    const expected = (await count(learnerId)) ?? (await this.readLoaded(learnerId, count)) ?? 0;
    let found = await this.repo.quizAttempts(learnerId, quizId, limit, after);
    if (found.total < expected && this.options.flushLearner) {
      await this.options.flushLearner(learnerId);
      found = await this.repo.quizAttempts(learnerId, quizId, limit, after);
    }
    return found.attempts;
  }

  goalDay(learnerId: string, day: number): Promise<GoalDay | null> {
    return this.repo.goalDay(learnerId, day);
  }

  certificate(code: string): Promise<IssuedCertificate | null> {
    return this.repo.certificate(code);
  }

  async lessonStates(learnerId: string, lessonIds: readonly string[]): Promise<Map<string, LessonState>> {
    if (lessonIds.length === 0) return new Map();
    const read = (id: string) => this.hot.lessonStates(id, lessonIds);
    return (await read(learnerId)) ?? (await this.readLoaded(learnerId, read)) ?? new Map();
  }

  async statCounters(learnerId: string): Promise<StatCounters> {
    const read = (id: string) => this.hot.statCounters(id);
    return (
      (await read(learnerId)) ??
      (await this.readLoaded(learnerId, read)) ?? {
        version: 0,
        lessonsCompleted: 0,
        videosCompleted: 0,
        watchSeconds: 0,
        quizzesTaken: 0,
        quizzesPassed: 0,
        bestScoreSum: 0,
        bestScoreCount: 0,
      }
    );
  }

  async engagement(learnerId: string, at: number): Promise<EngagementFacts> {
    const read = (id: string) => this.hot.engagement(id, at);
    return (await read(learnerId)) ?? (await this.readLoaded(learnerId, read)) ?? NO_ENGAGEMENT;
  }

  async numbers(learnerId: string, fields: readonly string[]): Promise<number[]> {
    const read = (id: string) => this.hot.numbers(id, fields);
    return (await read(learnerId)) ?? (await this.readLoaded(learnerId, read)) ?? fields.map(() => 0);
  }

  /**
   * Load a learner from Postgres into Redis, once per process at a time. Nothing is written
   * for a learner Postgres has never seen. A write asks Postgres even for a remembered
   * stranger: it must never take a learner it does not know for a new one.
   * @returns the state loaded, or null for a stranger
   */
  load(learnerId: string, options: { forWrite?: boolean } = {}): Promise<LearnerState | null> {
    if (!options.forWrite && this.isStranger(learnerId)) return Promise.resolve(null);
    const running = this.inflight.get(learnerId);
    if (running) return running;
    const job = (async () => {
      if (this.flushPartition) await this.flushPartition(learnerId);
      this.hydrations += 1;
      const stored = await this.repo.load(learnerId);
      if (!stored) {
        // A write is about to make them known: only reads remember strangers.
        if (!options.forWrite) {
          if (this.strangers.size >= STRANGERS_MAX) this.strangers.delete(this.strangers.keys().next().value!);
          this.strangers.set(learnerId, Date.now() + (this.options.strangerTtlMs ?? STRANGER_TTL_MS));
        }
        return null;
      }
      this.strangers.delete(learnerId);
      await this.hot.hydrate(stored);
      return stored;
    })().finally(() => this.inflight.delete(learnerId));
    this.inflight.set(learnerId, job);
    return job;
  }
}
