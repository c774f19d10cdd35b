import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Knex } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger';
import type { Keys } from '../redis/keys';
import { parseEntries, writeBatch, type BatchCounts, type OutboxEntry } from './outbox-writer';

export const FLUSHER_GROUP = 'flusher';

export interface FlusherOptions {
  /** Entries per Postgres transaction. */
  batchSize: number;
  /** How long one read blocks waiting for new entries. */
  intervalMs: number;
  /** Pending entries idle this long belong to a dead consumer and are claimed. */
  claimIdleMs: number;
  /** Consumer name in the group; unique per process by default. */
  consumer?: string;
  /** Test hook: runs after a batch is committed to Postgres and before it is acknowledged. */
  afterCommit?: (entries: readonly OutboxEntry[]) => void | Promise<void>;
}

export interface FlusherStats {
  entries: number;
  batches: number;
  rows: number;
  failures: number;
}

type StreamReply = [string, [string, string[]][]][] | null;

/** Compare two stream ids (`ms-seq`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The smallest id after `id`. */
function nextId(id: string): string {
  const [ms, seq] = id.split('-') as [string, string];
  return `${ms}-${BigInt(seq) + 1n}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isRetryablePg(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '40P01' || code === '40001';
}

/**
 * Writes the outbox streams behind to Postgres: reads with a consumer group, writes each batch
 * in one transaction, then XACKs; claims a dead consumer's pending entries (XAUTOCLAIM) and
 * trims what every consumer has acknowledged. Several flushers (processes) can share the group.
 */
export class Flusher {
  readonly consumer: string;
  readonly stats: FlusherStats = { entries: 0, batches: 0, rows: 0, failures: 0 };
  private readonly streams: string[];
  private readonly blocking: Redis;
  private running: Promise<void> | null = null;
  private stopping = false;
  private killed = false;
  private lastClaim = 0;
  private lastTrim = 0;
  private readonly acked = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    keys: Keys,
    private readonly knex: Knex,
    private readonly log: Logger,
    private readonly options: FlusherOptions,
  ) {
    this.consumer = options.consumer ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.streams = keys.outboxes();
    // Blocking reads get their own connection so they never hold up other commands.
    this.blocking = redis.duplicate({ lazyConnect: true, enableAutoPipelining: false });
  }

  /** Create the consumer group on every partition stream (from the start of the stream). */
  async ensureGroups(): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const s of this.streams) pipe.xgroup('CREATE', s, FLUSHER_GROUP, '0', 'MKSTREAM');
    const results = (await pipe.exec()) ?? [];
    for (const [err] of results) {
      if (err && !String(err.message).includes('BUSYGROUP')) throw err;
    }
  }

  /** Start the background loop. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroups();
    await this.blocking.connect();
    this.stopping = false;
    this.running = this.loop();
  }

  /** Stop the loop; with `drain`, first write everything already in the outbox. */
  async stop(options: { drain: boolean } = { drain: true }): Promise<void> {
    this.stopping = true;
    // Cut a blocking read short instead of waiting out its timeout.
    this.blocking.disconnect();
    await this.running;
    this.running = null;
    if (options.drain && !this.killed) await this.drain();
  }

  /**
   * Die like a crashed process: from now on nothing is acknowledged or written, and the loop
   * ends. What was read stays pending for another consumer to claim. (Tests.)
   */
  kill(): void {
    this.killed = true;
    this.stopping = true;
    this.blocking.disconnect();
  }

  /** Write everything in every outbox until nothing new is left. */
  async drain(): Promise<void> {
    // Entries delivered to this consumer but never written (a read cut short) come first.
    for (;;) {
      const own = await this.read(this.streams, 0, this.redis, '0');
      if (own.length === 0) break;
      await this.process(own);
    }
    for (;;) {
      const entries = await this.read(this.streams, 0);
      if (entries.length === 0) break;
      await this.process(entries);
    }
    await this.trim(true);
  }

  /**
   * Write everything in the outbox and wait until no consumer has an entry in flight, so
   * Postgres holds every change made so far (tests, rebuilds). Entries another consumer
   * holds longer than `waitMs` are claimed and written here.
   */
  async settle(waitMs = 5000): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      await this.drain();
      const pipe = this.redis.pipeline();
      for (const s of this.streams) pipe.xpending(s, FLUSHER_GROUP);
      const replies = (await pipe.exec()) ?? [];
      const pending = replies.reduce((n, [err, summary]) => n + (err ? 0 : Number((summary as [number])[0])), 0);
      if (pending === 0) return;
      if (Date.now() >= deadline) {
        await this.claim(this.streams, 0);
        return;
      }
      await sleep(10);
    }
  }

  /**
   * Make sure a partition's outbox is in Postgres (before hydrating one of its learners):
   * write what nobody has read, then wait for other consumers' in-flight entries, claiming
   * them if they do not finish in time (writes are idempotent, so a double write is harmless).
   */
  async flushPartition(stream: string, waitMs = 1000): Promise<void> {
    for (;;) {
      const entries = await this.read([stream], 0);
      if (entries.length === 0) break;
      await this.process(entries);
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const summary = (await this.redis.xpending(stream, FLUSHER_GROUP)) as [number, ...unknown[]];
      if (Number(summary[0]) === 0) return;
      if (Date.now() >= deadline) break;
      await sleep(10);
    }
    await this.claim([stream], 0);
  }

  private async loop(): Promise<void> {
    let backoff = 50;
    while (!this.stopping) {
      try {
        const entries = await this.read(this.streams, this.options.intervalMs, this.blocking);
        if (entries.length) await this.process(entries);
        const now = Date.now();
        if (now - this.lastClaim >= Math.max(50, this.options.claimIdleMs / 2)) {
          this.lastClaim = now;
          await this.claim(this.streams, this.options.claimIdleMs);
        }
        if (now - this.lastTrim >= 1000) {
          this.lastTrim = now;
          await this.trim(false);
        }
        backoff = 50;
      } catch (err) {
        if (this.stopping) break;
        const message = String((err as Error).message);
        if (message.includes('NOGROUP') || message.includes('UNBLOCKED')) {
          // Redis lost the streams (flushed, restarted): recreate the groups and carry on.
          this.log.warn('flusher: the outbox streams vanished (Redis flushed or restarted); recreating the group');
          await this.ensureGroups().catch(() => undefined);
          continue;
        }
        this.stats.failures += 1;
        this.log.error({ err }, 'flusher: read failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** Read new entries (`from` = '>'), or this consumer's own pending ones (`from` = '0'). */
  private async read(streams: string[], blockMs: number, conn: Redis = this.redis, from: '>' | '0' = '>'): Promise<OutboxEntry[]> {
    // COUNT applies to each stream: a quarter batch each keeps one read to a few batches'
    // worth at most, while a batch still holds few partitions (fewer snapshot rows to write).
    const perStream = Math.max(16, Math.ceil(this.options.batchSize / 4));
    const args: (string | number)[] = ['GROUP', FLUSHER_GROUP, this.consumer, 'COUNT', perStream];
    if (blockMs > 0) args.push('BLOCK', blockMs);
    args.push('STREAMS', ...streams, ...streams.map(() => from));
    let reply: StreamReply;
    try {
      reply = (await conn.call('XREADGROUP', ...args)) as StreamReply;
    } catch (err) {
      if (String((err as Error).message).includes('NOGROUP')) {
        await this.ensureGroups();
        reply = (await conn.call('XREADGROUP', ...args)) as StreamReply;
      } else throw err;
    }
    if (!reply) return [];
    // Reading own pending entries returns every stream, most of them with nothing.
    return reply.flatMap(([stream, raw]) => (raw.length ? parseEntries(stream, raw) : []));
  }

  /** Claim entries idle for `minIdleMs` on the given streams and write them. */
  private async claim(streams: string[], minIdleMs: number): Promise<void> {
    for (const stream of streams) {
      let cursor = '0-0';
      do {
        if (this.killed) return;
        const reply = (await this.redis.call(
          'XAUTOCLAIM', stream, FLUSHER_GROUP, this.consumer, minIdleMs, cursor, 'COUNT', this.options.batchSize,
        )) as [string, [string, string[]][], string[]?];
        cursor = reply[0];
        const entries = parseEntries(stream, reply[1]);
        if (entries.length) {
          this.log.warn({ stream, count: entries.length }, 'flusher: claimed pending entries of another consumer');
          await this.process(entries);
        }
      } while (cursor !== '0-0');
    }
  }

  /**
   * Write entries in batches, each in one transaction, acknowledging after each commit. Two
   * transactions run at once, so Node prepares one batch while Postgres commits the other;
   * rows are written in key order, so they wait on each other rather than deadlock.
   */
  private async process(entries: OutboxEntry[]): Promise<void> {
    const batches: OutboxEntry[][] = [];
    for (let i = 0; i < entries.length; i += this.options.batchSize) batches.push(entries.slice(i, i + this.options.batchSize));
    let next = 0;
    const worker = async () => {
      while (next < batches.length && !this.killed) await this.processBatch(batches[next++]!);
    };
    await Promise.all([worker(), worker()]);
  }

  private async processBatch(batch: OutboxEntry[]): Promise<void> {
    const counts = await this.writeWithRetry(batch);
    if (this.killed) return;
    await this.options.afterCommit?.(batch);
    if (this.killed) return;
    const byStream = new Map<string, string[]>();
    for (const e of batch) {
      const ids = byStream.get(e.stream);
      if (ids) ids.push(e.id);
      else byStream.set(e.stream, [e.id]);
    }
    const pipe = this.redis.pipeline();
    for (const [stream, ids] of byStream) {
      pipe.xack(stream, FLUSHER_GROUP, ...ids);
      const top = ids.reduce((a, b) => (compareIds(a, b) >= 0 ? a : b));
      const before = this.acked.get(stream);
      if (!before || compareIds(top, before) > 0) this.acked.set(stream, top);
    }
    await pipe.exec();
    this.stats.entries += batch.length;
    this.stats.batches += 1;
    this.stats.rows += counts.learners + counts.enrollments + counts.lessonProgress + counts.xpTransactions + counts.badgeAwards;
  }

  private async writeWithRetry(batch: OutboxEntry[]): Promise<BatchCounts> {
    let backoff = 50;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await writeBatch(this.knex, batch);
      } catch (err) {
        this.stats.failures += 1;
        // Past the stop, leave the entries pending: the next flusher claims and writes them.
        if (this.killed || (this.stopping && !isRetryablePg(err) && attempt >= 3)) throw err;
        this.log.error({ err, attempt, entries: batch.length }, 'flusher: batch write failed; retrying');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /**
   * Trim acknowledged entries: everything below the oldest pending entry, and never past what
   * this consumer acknowledged itself (entries not yet delivered are always above that).
   */
  private async trim(all: boolean): Promise<void> {
    const streams = [...this.acked.keys()];
    if (streams.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const s of streams) pipe.xpending(s, FLUSHER_GROUP);
    const summaries = (await pipe.exec()) ?? [];
    const trim = this.redis.pipeline();
    streams.forEach((stream, i) => {
      const [err, summary] = summaries[i] ?? [];
      if (err || !summary) return;
      const [count, minPending] = summary as [number, string | null];
      let to = nextId(this.acked.get(stream)!);
      if (Number(count) > 0 && minPending && compareIds(minPending, to) < 0) to = minPending;
      trim.xtrim(stream, 'MINID', to);
      if (all || Number(count) === 0) this.acked.delete(stream);
    });
    await trim.exec();
  }
}
