import type { Knex } from '@mikro-orm/postgresql';
import { Unavailable } from '../domain/errors';
import type { Logger } from '../logger';
import type { BoardStore } from './redis/boards';
import { deleteMatching, onEveryMaster } from './redis/client';
import type { Keys } from './redis/keys';
import type { ScriptedClient } from './redis/scripts';

export interface RollbackGuardDeps {
  redis: ScriptedClient;
  keys: Keys;
  knex: Knex;
  boards: BoardStore;
  /** Write everything a partition's outbox holds to Postgres. */
  flushPartition: (partition: number) => Promise<void>;
  log: Logger;
  /** This instance's name (holder of the check's lock). */
  name: string;
  /**
   * How often to ask every master for its `run_id` (ms; 0: never). A Redis Cluster client
   * does not always drop its connection when one master is replaced (a failover to a replica,
   * a node restarted between two commands), so the guard also looks for itself.
   */
  watchMs?: number;
}

/** What /ready shows of the guard. */
export interface RollbackState {
  /** `verified`: changes go to Redis; `checking`: changes wait for the comparison. */
  state: 'verified' | 'checking';
  checks: number;
  partitionsRepaired: number;
  newMasters: number;
  /** When this instance last knew the current incarnation checked (by itself or another). */
  lastCheckedAt: string | null;
}

/** Longest a change waits for the check after a reconnect before it is refused (retryable). */
const WAIT_MS = 5000;
const LOCK_TTL_MS = 30_000;

const idOf = (id: string): [number, number] => {
  const [ms, seq] = id.split('-').map(Number);
  return [ms ?? 0, seq ?? 0];
};
const before = (a: [number, number], b: [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

/**
 * Keeps changes off a Redis that is behind Postgres. Whenever the connection to Redis is lost
 * (Redis restarted, failed over, restored), changes wait until one instance has compared, for
 * every partition, the newest id its outbox stream ever had with the newest id the Postgres
 * writer wrote (`outbox_watermarks`). A partition whose stream is older than that lost changes
 * Postgres has (an older snapshot, writes a failover lost, an empty restart): its outbox is
 * written, its learners' hashes are dropped (each is loaded again from Postgres on first touch),
 * and every board is dropped (loaded again from Postgres). Only then do changes go on, so a
 * lesson paid before the rollback answers ALREADY_COMPLETED, never a second award.
 *
 * The check runs once per Redis incarnation (its `run_id`s), under a lock; the other instances
 * wait for its mark. Learners the check cannot see (Redis fell behind without a restart) are
 * caught by the write-behind (LearnerRepair).
 */
export class RollbackGuard {
  private verified = false;
  private checking: Promise<void> | null = null;
  /** The incarnation this instance last found checked. */
  private known: string | null = null;
  private lastCheckedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Partitions found behind, since start (for /ready and tests). */
  partitionsRepaired = 0;
  checks = 0;
  /** Times the watch found a master with a run_id other than the one checked. */
  newMasters = 0;

  constructor(private readonly deps: RollbackGuardDeps) {}

  state(): RollbackState {
    return {
      state: this.verified ? 'verified' : 'checking',
      checks: this.checks,
      partitionsRepaired: this.partitionsRepaired,
      newMasters: this.newMasters,
      lastCheckedAt: this.lastCheckedAt === null ? null : new Date(this.lastCheckedAt).toISOString(),
    };
  }

  /** Start asking for the incarnation every `watchMs` (see RollbackGuardDeps.watchMs). */
  watch(): void {
    const every = this.deps.watchMs ?? 0;
    if (every <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.look(), every);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * One look: a master with another run_id than the one checked means a check now; a check
   * that failed (Postgres down when Redis came back) is tried again without waiting for a change.
   */
  private async look(): Promise<void> {
    if (this.checking) return;
    if (!this.verified) {
      await this.check().catch(() => undefined);
      return;
    }
    let now: string;
    try {
      now = await this.incarnation();
    } catch {
      return; // Unreachable: the connection events and the next look handle it.
    }
    if (this.known !== null && now !== this.known && this.verified) {
      this.newMasters += 1;
      this.deps.log.warn('a Redis master has a new run_id: checking it is not behind Postgres before the next change');
      this.suspect();
      await this.check().catch((err) => this.deps.log.warn({ err: (err as Error).message }, 'Redis rollback check failed; retried on the next change'));
    }
  }

  /** The connection dropped: Redis may come back as another incarnation. */
  suspect(): void {
    this.verified = false;
  }

  /** Check now unless this incarnation was checked (start-up, after a reconnect). */
  check(): Promise<void> {
    this.checking ??= this.run().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  /**
   * Resolves when changes may go to Redis; starts the check when needed.
   * @throws Unavailable (REDIS_RECOVERING) when it does not finish in time
   */
  async ready(): Promise<void> {
    if (this.verified) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Unavailable('The service is checking its Redis after a restart. Nothing was changed; retry in a moment.', 'REDIS_RECOVERING')),
        WAIT_MS,
      );
    });
    try {
      await Promise.race([this.check(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async incarnation(): Promise<string> {
    const infos = await onEveryMaster(this.deps.redis, (node) => node.info('server'));
    return infos
      .map((info) => /run_id:(\w+)/.exec(info)?.[1] ?? '?')
      .sort()
      .join(',');
  }

  private async run(): Promise<void> {
    const { redis, keys } = this.deps;
    const mark = keys.rollbackChecked();
    for (;;) {
      const incarnation = await this.incarnation();
      if ((await redis.get(mark)) === incarnation) {
        this.known = incarnation;
        this.lastCheckedAt = Date.now();
        this.verified = true;
        return;
      }
      const lock = keys.rollbackLock();
      if ((await redis.set(lock, this.deps.name, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
        // Another instance checks; wait for its mark.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      try {
        await this.compare();
        await redis.set(mark, incarnation);
        this.known = incarnation;
        this.lastCheckedAt = Date.now();
        this.verified = true;
        return;
      } finally {
        await redis.del(lock).catch(() => undefined);
      }
    }
  }

  /** Compare every partition's stream with the writer's watermark; repair those behind. */
  private async compare(): Promise<void> {
    const { redis, keys, knex, log } = this.deps;
    this.checks += 1;
    const marks = (await knex('outbox_watermarks').select('partition', 'ms', 'seq')) as { partition: number; ms: string; seq: string }[];
    const behind: number[] = [];
    await Promise.all(
      marks.map(async (m) => {
        let last: [number, number] = [0, 0];
        try {
          const info = (await redis.xinfo('STREAM', keys.outbox(m.partition))) as (string | number)[];
          const at = info.indexOf('last-generated-id');
          if (at >= 0) last = idOf(String(info[at + 1]));
        } catch {
          // No stream: Redis has nothing of this partition.
        }
        if (before(last, [Number(m.ms), Number(m.seq)])) behind.push(m.partition);
      }),
    );
    if (behind.length === 0) return;
    behind.sort((a, b) => a - b);
    log.warn({ partitions: behind.length }, 'Redis is behind Postgres (restored from an older snapshot, or lost writes): loading those learners and every board again from Postgres');
    for (const p of behind) {
      // What the restored stream still holds is written first (idempotent), then the hashes go.
      await this.deps.flushPartition(p);
      await deleteMatching(redis, `${keys.partitionTag(p)}:learner:*`);
    }
    await this.deps.boards.clearAll();
    this.partitionsRepaired += behind.length;
  }
}
