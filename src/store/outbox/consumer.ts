import { LogThrottle, type Logger } from '../../logger';
import { reasonOf, type Fault } from '../faults';
import type { Keys } from '../redis/keys';
import { Membership } from '../redis/membership';
import type { ScriptedClient } from '../redis/scripts';
import type { DeadLetters } from './deadletters';
import { readEntries, type OutboxEntry, type UnreadableEntry } from './entry';

/** Handles a batch of entries; must be idempotent (entries can be handed over twice after a crash). */
export type EntryHandler = (entries: readonly OutboxEntry[]) => Promise<void>;

/**
 * Most entries dead-lettered per minute before the consumer suspects its store instead, when
 * they belong to at least DEAD_LETTER_LEARNERS learners: a flood of one learner's bad entries
 * is that learner's data (each is dead-lettered and the rest flows), not a broken store.
 */
const DEAD_LETTERS_PER_MINUTE = 100;
const DEAD_LETTER_LEARNERS = 10;

export interface ConsumerOptions {
  /** Consumer group name on every partition stream. */
  group: string;
  /** This instance's consumer name. */
  name: string;
  /** An instance whose heartbeat in the group stops for this long is gone; its entries are claimed. */
  memberTtlMs: number;
  /** Entries per read of one partition, and per handler call. */
  batchSize: number;
  /** Handler calls in flight at once (the Postgres writer prepares one batch while another commits). */
  concurrency: number;
  /** Least time between two reading rounds: doorbells within it share one round (bigger batches). */
  minIntervalMs: number;
  /** How often every owned partition is read whatever the doorbells said, and claims are checked. */
  sweepMs: number;
  /** An entry a live consumer has held this long is claimed (that consumer is stuck). */
  claimIdleMs: number;
  /** Tries at an entry that fails on its own before it is dead-lettered. */
  maxAttempts: number;
  /** Whose fault a failure is (see {@link Fault}). */
  classify: (err: unknown) => Fault;
  /** Test hook: runs after the handler succeeded and before the entries are acknowledged. */
  afterHandle?: (entries: readonly OutboxEntry[]) => void | Promise<void>;
}

export interface ConsumerStats {
  entries: number;
  batches: number;
  failures: number;
  deadLettered: number;
  claimed: number;
  /** When a batch was last handled (ms); 0 before any. */
  lastProgressAt: number;
}

type StreamReply = [string, [string, string[] | null][]][] | null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One consumer group over the partition outbox streams, in this process. Partitions are split
 * between live instances (Membership); each reads its own with single-stream commands, so
 * nothing touches two slots and it runs on Redis Cluster.
 *
 * Reads are driven by doorbells (every learner script publishes its partition on the learner
 * channel) and by a sweep every `sweepMs` that catches what a lost doorbell missed. A handled
 * batch is acknowledged (XACK); a batch that fails is retried: transient failures (a store
 * down) until they pass, anything else by halving the batch until the failing entry is alone,
 * which is dead-lettered after `maxAttempts` tries while every other entry flows on. What a
 * gone instance held is claimed by the partition's owner at the next sweep; what a live but
 * stuck one held, after `claimIdleMs`.
 */
export class OutboxConsumer {
  readonly stats: ConsumerStats = { entries: 0, batches: 0, failures: 0, deadLettered: 0, claimed: 0, lastProgressAt: 0 };
  private readonly dirty = new Set<number>();
  private readonly inFlight = new Set<string>();
  private readonly attempts = new Map<string, number>();
  private readonly lastAutoclaim = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private sweeping: Promise<void> | null = null;
  private started = false;
  private stopping = false;
  private killed = false;
  private lastRound = 0;
  /** A store outage fails every round: one "outbox read failed" line per 5 s. */
  private readonly readFailures = new LogThrottle(5000);
  private sweeps = 0;
  /** While the store refuses everything, reading waits this long between tries (doubling). */
  private storeBackoff = 0;
  private pausedUntil = 0;
  private readonly recentDeadLetters: { at: number; learner: string }[] = [];
  /** The instances running this group; they split its partitions. */
  readonly membership: Membership;

  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    private readonly deadLetters: DeadLetters,
    private readonly log: Logger,
    private readonly handler: EntryHandler,
    private readonly options: ConsumerOptions,
  ) {
    this.membership = new Membership(redis, keys, log, { set: options.group, name: options.name, ttlMs: options.memberTtlMs });
  }

  get group(): string {
    return this.options.group;
  }

  /** Create the group on every partition stream (from the start of the stream). */
  async ensureGroups(): Promise<void> {
    await Promise.all(
      this.keys.allPartitions().map(async (p) => {
        try {
          await this.redis.xgroup('CREATE', this.keys.outbox(p), this.options.group, '0', 'MKSTREAM');
        } catch (err) {
          if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
        }
      }),
    );
  }

  /** Start reading the partitions this instance owns. */
  async start(): Promise<void> {
    if (this.started) return;
    await this.ensureGroups();
    await this.membership.start();
    this.started = true;
    this.stopping = false;
    this.sweepTimer = setInterval(() => this.sweep(), this.options.sweepMs);
    this.sweepTimer.unref();
    this.sweep();
  }

  /** Something was appended to partition `p`: read it soon if it is ours. */
  doorbell(p: number): void {
    if (!this.started || this.stopping || !this.membership.owns(p)) return;
    this.dirty.add(p);
    this.schedule();
  }

  /** Stop reading; with `drain`, first handle everything in hand and everything new in the outbox. */
  async stop(options: { drain: boolean } = { drain: true }): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.timer = null;
    this.sweepTimer = null;
    await this.round;
    await this.sweeping;
    if (options.drain && !this.killed) await this.drain();
    // Leave only now, so nobody claims what this instance still had in hand.
    if (this.started) await this.membership.stop();
    this.started = false;
  }

  /** Die as a crashed process would: nothing more is handled or acknowledged (tests). */
  kill(): void {
    this.killed = true;
    this.stopping = true;
    this.membership.kill();
    if (this.timer) clearTimeout(this.timer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.timer = null;
    this.sweepTimer = null;
  }

  /**
   * Handle this consumer's pending entries, then everything new in every partition, until
   * nothing is left (shutdown drains, tests, rebuilds).
   */
  async drain(): Promise<void> {
    const all = this.keys.allPartitions();
    for (;;) {
      const own = await Promise.all(all.map((p) => this.read(p, '0')));
      const mine = own.flatMap((r) => r.entries).filter((e) => !this.inFlight.has(this.keyOf(e)));
      if (mine.length === 0) break;
      const before = this.stats.entries + this.stats.deadLettered;
      await this.process(mine);
      // Nothing went through (a store is down): leave them pending for whoever comes next.
      if (this.stats.entries + this.stats.deadLettered === before) return;
    }
    for (;;) {
      const reads = await Promise.all(all.map((p) => this.read(p, '>')));
      const entries = reads.flatMap((r) => r.entries);
      await this.handleUnreadable(reads.flatMap((r) => r.unreadable));
      if (entries.length === 0 && reads.every((r) => r.unreadable.length === 0)) break;
      const before = this.stats.entries;
      await this.process(entries);
      if (entries.length && this.stats.entries === before) return;
    }
  }

  /**
   * Wait until the group has nothing left anywhere: drain, then wait for other consumers'
   * entries in flight, claiming them after `waitMs` (handlers are idempotent, so a double
   * handling is harmless). For tests and rebuilds.
   */
  async settle(waitMs = 5000): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      await this.drain();
      const pending = await this.pendingTotal();
      if (pending === 0) return;
      if (Date.now() >= deadline) {
        await Promise.all(this.keys.allPartitions().map((p) => this.autoclaim(p, 0)));
        if ((await this.pendingTotal()) === 0) return;
      }
      await sleep(10);
    }
  }

  /**
   * Make sure partition `p`'s outbox has been handled (before hydrating one of its learners when
   * Redis may evict): handle what nobody has read, then wait for other consumers' entries in
   * flight, claiming them if they do not finish within `waitMs` (a double handling is harmless).
   */
  async flushPartition(p: number, waitMs = 1000): Promise<void> {
    for (;;) {
      const r = await this.read(p, '>');
      await this.handleUnreadable(r.unreadable);
      if (r.count === 0) break;
      await this.process(r.entries);
    }
    const deadline = Date.now() + waitMs;
    for (;;) {
      const summary = (await this.redis.xpending(this.keys.outbox(p), this.options.group)) as [number];
      if (!Number(summary[0])) return;
      if (Date.now() >= deadline) break;
      await sleep(10);
    }
    await this.autoclaim(p, 0);
  }

  /** Entries delivered and not yet acknowledged, over every partition. */
  async pendingTotal(): Promise<number> {
    const summaries = await Promise.all(
      this.keys.allPartitions().map((p) => this.redis.xpending(this.keys.outbox(p), this.options.group).catch(() => [0])),
    );
    return summaries.reduce((n: number, s) => n + Number((s as [number])[0] ?? 0), 0);
  }

  private keyOf(e: { stream: string; id: string }): string {
    return `${e.stream}/${e.id}`;
  }

  private schedule(): void {
    if (this.timer || this.round || this.stopping) return;
    const wait = Math.max(0, this.lastRound + this.options.minIntervalMs - Date.now(), this.pausedUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.round = this.readRound().finally(() => {
        this.round = null;
        if (this.dirty.size) this.schedule();
      });
    }, wait);
  }

  private async readRound(): Promise<void> {
    this.lastRound = Date.now();
    const parts = [...this.dirty];
    this.dirty.clear();
    try {
      const reads = await Promise.all(parts.map((p) => this.read(p, '>')));
      parts.forEach((p, i) => {
        // A full read means more is waiting in that partition.
        if (reads[i]!.count >= this.options.batchSize) this.dirty.add(p);
      });
      await this.handleUnreadable(reads.flatMap((r) => r.unreadable));
      const entries = reads.flatMap((r) => r.entries);
      if (entries.length) await this.process(entries);
    } catch (err) {
      if (this.killed) return;
      this.stats.failures += 1;
      for (const p of parts) this.dirty.add(p);
      if (String((err as Error).message).includes('NOGROUP')) {
        // Redis lost the streams (flushed, restarted): recreate the groups and carry on.
        this.log.warn({ group: this.options.group }, 'outbox streams vanished (Redis flushed or restarted); recreating the group');
        await this.ensureGroups().catch(() => undefined);
      } else {
        const repeatsLeftOut = this.readFailures.take('read');
        if (repeatsLeftOut !== null) this.log.warn({ err: reasonOf(err), group: this.options.group, repeatsLeftOut }, 'outbox read failed; retrying');
        // Back off before the next round.
        this.lastRound = Date.now() + 500;
      }
    }
  }

  private async read(p: number, from: '>' | '0'): Promise<{ entries: OutboxEntry[]; unreadable: UnreadableEntry[]; count: number }> {
    const stream = this.keys.outbox(p);
    const args = ['GROUP', this.options.group, this.membership.name, 'COUNT', this.options.batchSize, 'STREAMS', stream, from] as const;
    let reply: StreamReply;
    try {
      reply = (await this.redis.xreadgroup(...args)) as StreamReply;
    } catch (err) {
      if (!String((err as Error).message).includes('NOGROUP')) throw err;
      // Redis lost the stream (flushed, restarted empty): recreate the group and read again.
      await this.ensureGroups();
      reply = (await this.redis.xreadgroup(...args)) as StreamReply;
    }
    const raw = reply?.[0]?.[1] ?? [];
    return { ...readEntries(stream, p, raw), count: raw.length };
  }

  /** Handle entries in batches, `concurrency` at a time; entries already in hand here are skipped. */
  private async process(entries: readonly OutboxEntry[]): Promise<void> {
    const fresh = entries.filter((e) => !this.inFlight.has(this.keyOf(e)));
    for (const e of fresh) this.inFlight.add(this.keyOf(e));
    const batches: OutboxEntry[][] = [];
    for (let i = 0; i < fresh.length; i += this.options.batchSize) batches.push(fresh.slice(i, i + this.options.batchSize));
    let next = 0;
    const worker = async () => {
      while (next < batches.length && !this.killed) {
        const batch = batches[next++]!;
        try {
          await this.handle(batch);
        } finally {
          for (const e of batch) this.inFlight.delete(this.keyOf(e));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency) }, worker));
  }

  /**
   * Handle one batch: acknowledge it when the handler succeeds; otherwise isolate what failed
   * (see {@link Fault}) and leave it pending, to be tried again by the sweep. Nothing here
   * sleeps, so a failing entry never holds up the rest.
   */
  private async handle(batch: readonly OutboxEntry[]): Promise<void> {
    if (this.killed) return;
    try {
      await this.handler(batch);
      if (this.killed) return;
      await this.options.afterHandle?.(batch);
      if (this.killed) return;
      await this.ack(batch);
      this.stats.entries += batch.length;
      this.stats.batches += 1;
      this.stats.lastProgressAt = Date.now();
      this.storeBackoff = 0;
      for (const e of batch) this.attempts.delete(this.keyOf(e));
      return;
    } catch (err) {
      if (this.killed) return;
      this.stats.failures += 1;
      const fault = this.options.classify(err);
      if (fault === 'store') {
        this.storeDown(err, batch.length);
        return;
      }
      if (batch.length > 1) {
        // Something in the batch is bad or stuck: halve it so the rest goes through.
        const mid = Math.ceil(batch.length / 2);
        await this.handle(batch.slice(0, mid));
        await this.handle(batch.slice(mid));
        return;
      }
      const entry = batch[0]!;
      if (fault === 'split') {
        this.log.warn({ err: reasonOf(err), group: this.options.group, entryId: entry.id }, 'outbox entry timed out on its own; it will be tried again');
        return;
      }
      const tries = (this.attempts.get(this.keyOf(entry)) ?? 0) + 1;
      this.attempts.set(this.keyOf(entry), tries);
      if (tries < this.options.maxAttempts) {
        this.log.warn({ err: reasonOf(err), group: this.options.group, entryId: entry.id, tries }, 'outbox entry failed; it will be tried again');
        return;
      }
      // Many dead letters at once more likely mean a broken store (or a bug) than bad entries.
      const now = Date.now();
      while (this.recentDeadLetters.length && this.recentDeadLetters[0]!.at < now - 60_000) this.recentDeadLetters.shift();
      if (
        this.recentDeadLetters.length >= DEAD_LETTERS_PER_MINUTE &&
        new Set([...this.recentDeadLetters.map((d) => d.learner), entry.data.l]).size >= DEAD_LETTER_LEARNERS
      ) {
        this.storeDown(new Error(`more than ${DEAD_LETTERS_PER_MINUTE} entries of ${DEAD_LETTER_LEARNERS}+ learners failed on their own within a minute (last: ${reasonOf(err)})`), 1);
        return;
      }
      this.recentDeadLetters.push({ at: now, learner: entry.data.l });
      if (this.recentDeadLetters.length > 4 * DEAD_LETTERS_PER_MINUTE) this.recentDeadLetters.shift();
      this.attempts.delete(this.keyOf(entry));
      await this.deadLetter(entry.stream, entry.partition, entry.id, entry.data.k, JSON.stringify(['k', entry.data.k, 'j', entry.json]), reasonOf(err));
      await this.ack(batch);
    }
  }

  /** The store refuses everything: pause reading (doubling up to 5 s); the sweep retries what is pending. */
  private storeDown(err: unknown, entries: number): void {
    this.storeBackoff = Math.min(Math.max(this.storeBackoff * 2, 100), 5000);
    this.pausedUntil = Date.now() + this.storeBackoff;
    this.log.warn({ err: reasonOf(err), group: this.options.group, entries, retryInMs: this.storeBackoff }, 'outbox batch failed: the store is unavailable; it stays pending');
  }

  private async handleUnreadable(list: readonly UnreadableEntry[]): Promise<void> {
    // An entry that cannot be read never will be: no tries, straight to the dead letters.
    for (const u of list) {
      await this.deadLetter(u.stream, u.partition, u.id, null, JSON.stringify(u.fields), u.error);
      await this.redis.xack(u.stream, this.options.group, u.id);
    }
  }

  private async deadLetter(stream: string, partition: number, entryId: string, kind: string | null, payload: string, error: string): Promise<void> {
    this.stats.deadLettered += 1;
    await this.deadLetters.record({ group: this.options.group, stream, partition, entryId, kind, payload, error });
  }

  private async ack(batch: readonly OutboxEntry[]): Promise<void> {
    const byStream = new Map<string, string[]>();
    for (const e of batch) {
      const ids = byStream.get(e.stream);
      if (ids) ids.push(e.id);
      else byStream.set(e.stream, [e.id]);
    }
    await Promise.all([...byStream].map(([stream, ids]) => this.redis.xack(stream, this.options.group, ...ids)));
  }

  /** Read every owned partition, and claim what gone or stuck consumers hold there. */
  private sweep(): void {
    if (this.stopping || this.sweeping) return;
    for (const p of this.keys.allPartitions()) if (this.membership.owns(p)) this.dirty.add(p);
    this.schedule();
    this.sweeping = this.claimAll()
      .catch((err) => {
        if (!this.killed) this.log.warn({ err: (err as Error).message, group: this.options.group }, 'outbox claim check failed');
      })
      .finally(() => {
        this.sweeping = null;
      });
  }

  private async claimAll(): Promise<void> {
    this.sweeps += 1;
    if (Date.now() < this.pausedUntil) return;
    const owned = this.keys.allPartitions().filter((p) => this.membership.owns(p));
    // Entries this instance left pending after a failure, tried again (the round never waits on them).
    await Promise.all(this.keys.allPartitions().map((p) => this.retryOwn(p)));
    await Promise.all(owned.map((p) => this.claimFrom(p)));
    // Now and then, forget consumers that are gone and hold nothing.
    if (this.sweeps % 60 === 1) await Promise.all(owned.map((p) => this.forgetGone(p)));
  }

  /** Try again what this instance holds pending in partition `p` and is not handling now. */
  private async retryOwn(p: number): Promise<void> {
    const stream = this.keys.outbox(p);
    const rows = (await this.redis.xpending(stream, this.options.group, 'IDLE', this.options.sweepMs, '-', '+', this.options.batchSize, this.membership.name)) as [string][];
    const ids = rows.map((r) => r[0]).filter((id) => !this.inFlight.has(`${stream}/${id}`));
    if (ids.length === 0) return;
    const claimed = (await this.redis.xclaim(stream, this.options.group, this.membership.name, 0, ...ids)) as [string, string[] | null][];
    const { entries, unreadable } = readEntries(stream, p, claimed);
    await this.handleUnreadable(unreadable);
    await this.process(entries);
  }

  private async claimFrom(p: number): Promise<void> {
    const stream = this.keys.outbox(p);
    const summary = (await this.redis.xpending(stream, this.options.group)) as [number, string | null, string | null, [string, string][] | null];
    if (!Number(summary[0])) return;
    for (const [consumer] of summary[3] ?? []) {
      if (this.stopping || this.membership.isLive(consumer)) continue;
      // A gone instance: take what it held now rather than after the idle time.
      const rows = (await this.redis.xpending(stream, this.options.group, 'IDLE', 0, '-', '+', this.options.batchSize, consumer)) as [string][];
      if (rows.length === 0) continue;
      const claimed = (await this.redis.xclaim(stream, this.options.group, this.membership.name, 0, ...rows.map((r) => r[0]))) as [string, string[] | null][];
      await this.processClaimed(stream, p, claimed, consumer);
    }
    const now = Date.now();
    if (now - (this.lastAutoclaim.get(p) ?? 0) >= Math.max(this.options.sweepMs, this.options.claimIdleMs / 2)) {
      this.lastAutoclaim.set(p, now);
      await this.autoclaim(p, this.options.claimIdleMs);
    }
  }

  /** Claim entries idle for `minIdleMs` (any consumer, this one included) and handle them. */
  private async autoclaim(p: number, minIdleMs: number): Promise<void> {
    const stream = this.keys.outbox(p);
    let cursor = '0-0';
    do {
      if (this.killed) return;
      const reply = (await this.redis.xautoclaim(stream, this.options.group, this.membership.name, minIdleMs, cursor, 'COUNT', this.options.batchSize)) as [
        string,
        [string, string[] | null][],
      ];
      cursor = reply[0];
      await this.processClaimed(stream, p, reply[1], 'idle');
    } while (cursor !== '0-0');
  }

  private async processClaimed(stream: string, p: number, raw: [string, string[] | null][], from: string): Promise<void> {
    const { entries, unreadable } = readEntries(stream, p, raw);
    if (entries.length + unreadable.length === 0) return;
    this.stats.claimed += entries.length;
    this.log.info({ group: this.options.group, stream, count: entries.length, from }, 'outbox: claimed entries another consumer held');
    await this.handleUnreadable(unreadable);
    await this.process(entries);
  }

  private async forgetGone(p: number): Promise<void> {
    const stream = this.keys.outbox(p);
    const consumers = (await this.redis.xinfo('CONSUMERS', stream, this.options.group)) as (string | number)[][];
    for (const c of consumers) {
      const info = new Map<string, string | number>();
      for (let i = 0; i + 1 < c.length; i += 2) info.set(String(c[i]), c[i + 1]!);
      const name = String(info.get('name'));
      if (Number(info.get('pending')) === 0 && !this.membership.isLive(name)) {
        await this.redis.xgroup('DELCONSUMER', stream, this.options.group, name);
      }
    }
  }
}
