import { Unavailable } from '../../domain/errors';
import type { Logger } from '../../logger';
import type { Keys } from '../redis/keys';
import type { Membership } from '../redis/membership';
import type { ScriptedClient } from '../redis/scripts';
import { compareStreamIds, nextStreamId, streamIdMs } from './entry';

/** How one consumer group stands over every partition. */
export interface GroupHealth {
  /** Entries not yet acknowledged: delivered and in hand, or not yet delivered. */
  backlog: number;
  /** Age of the oldest entry not acknowledged (ms); 0 when there is none. */
  oldestAgeMs: number;
}

export interface OutboxHealth {
  /** When this was measured (ms); 0 before the first check. */
  checkedAt: number;
  /** Whether the last check could reach Redis. */
  redisUp: boolean;
  /** Entries in every outbox stream (acknowledged ones wait for a trim). */
  entries: number;
  groups: Record<string, GroupHealth>;
  /** Entries dead-lettered, in Redis's dead-letter streams. */
  deadLetters: number;
}

export interface MonitorOptions {
  /** How often the outbox is measured and trimmed. */
  intervalMs: number;
  /** Entries at which a warning is logged. */
  warnEntries: number;
  /** Entries at which new writes are refused (UNAVAILABLE) until the backlog shrinks. */
  maxEntries: number;
}

interface GroupInfo {
  name: string;
  pending: number;
  lastDelivered: string;
  lag: number | null;
}

function groupsOf(reply: unknown): GroupInfo[] {
  return (reply as (string | number | null)[][]).map((flat) => {
    const m = new Map<string, string | number | null>();
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1] ?? null);
    const lag = m.get('lag');
    return {
      name: String(m.get('name')),
      pending: Number(m.get('pending') ?? 0),
      lastDelivered: String(m.get('last-delivered-id') ?? '0-0'),
      lag: lag === null || lag === undefined ? null : Number(lag),
    };
  });
}

/**
 * Measures the outbox every `intervalMs`: its size (for the bound that refuses new writes
 * rather than exhausting Redis's memory), each consumer group's backlog and the age of its
 * oldest unacknowledged entry (for `/ready`), and the dead letters. It also trims, on the
 * partitions this instance owns, every entry all groups have acknowledged.
 */
export class OutboxMonitor {
  private health: OutboxHealth = { checkedAt: 0, redisUp: true, entries: 0, groups: {}, deadLetters: 0 };
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<OutboxHealth> | null = null;
  private warned = false;

  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    private readonly membership: Membership,
    private readonly groups: readonly string[],
    private readonly log: Logger,
    private readonly options: MonitorOptions,
  ) {}

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The last measurement. */
  latest(): OutboxHealth {
    return this.health;
  }

  /** Entries this instance appended since the last measurement (the bound counts them at once). */
  private since = 0;

  /** Count an entry this instance just appended. */
  appended(n = 1): void {
    this.since += n;
  }

  /** Whether new writes must be refused: the outbox reached its bound (measured, plus this instance's writes since). */
  full(): boolean {
    return this.health.entries + this.since >= this.options.maxEntries;
  }

  /** Measure now (one at a time), trim what every group acknowledged, and keep the result. */
  check(): Promise<OutboxHealth> {
    this.checking ??= this.measure()
      .catch((err): OutboxHealth => {
        this.log.warn({ err: (err as Error).message }, 'outbox check failed');
        return { ...this.health, checkedAt: Date.now(), redisUp: false };
      })
      .then((h) => {
        this.health = h;
        this.since = 0;
        this.checking = null;
        return h;
      });
    return this.checking;
  }

  private async measure(): Promise<OutboxHealth> {
    const now = Date.now();
    const totals: Record<string, GroupHealth> = Object.fromEntries(this.groups.map((g) => [g, { backlog: 0, oldestAgeMs: 0 }]));
    const lengths = await Promise.all(this.keys.allPartitions().map((p) => this.partition(p, now, totals)));
    const entries = lengths.reduce((a, b) => a + b, 0);
    const dl = await Promise.all(this.keys.allPartitions().map((p) => this.redis.xlen(this.keys.deadLetters(p))));
    const deadLetters = dl.reduce((a, b) => a + b, 0);
    if (entries >= this.options.warnEntries && !this.warned) {
      this.warned = true;
      this.log.warn({ entries, max: this.options.maxEntries }, 'the outbox is filling up: the write-behind is not keeping up (is Postgres down?)');
    } else if (entries < this.options.warnEntries) this.warned = false;
    return { checkedAt: now, redisUp: true, entries, groups: totals, deadLetters };
  }

  /** Measure one partition into `totals`, trim it if owned. @returns its length */
  private async partition(p: number, now: number, totals: Record<string, GroupHealth>): Promise<number> {
    const stream = this.keys.outbox(p);
    const [length, infoReply] = await Promise.all([this.redis.xlen(stream), this.redis.xinfo('GROUPS', stream).catch(() => [])]);
    if (length === 0) return 0;
    const infos = groupsOf(infoReply);
    // A group that does not exist yet has read nothing: the whole stream is its backlog.
    for (const g of this.groups) {
      if (!infos.some((i) => i.name === g)) infos.push({ name: g, pending: 0, lastDelivered: '0-0', lag: length });
    }
    // The oldest id each group still needs, to trim below the lowest of them.
    let keepFrom: string | null = null;
    for (const g of infos) {
      const total = totals[g.name];
      let oldest: string | null = null;
      if (g.pending > 0) {
        const summary = (await this.redis.xpending(stream, g.name)) as [number, string | null];
        oldest = summary[1];
      }
      const undelivered = g.lag === null ? 1 : g.lag;
      if (undelivered > 0 && !oldest) {
        const next = (await this.redis.xrange(stream, nextStreamId(g.lastDelivered), '+', 'COUNT', 1)) as [string, string[]][];
        oldest = next[0]?.[0] ?? null;
      }
      if (total) {
        total.backlog += g.pending + (g.lag ?? (oldest ? 1 : 0));
        if (oldest) total.oldestAgeMs = Math.max(total.oldestAgeMs, now - streamIdMs(oldest));
      }
      const needs = oldest ?? nextStreamId(g.lastDelivered);
      if (keepFrom === null || compareStreamIds(needs, keepFrom) < 0) keepFrom = needs;
    }
    if (keepFrom && this.membership.owns(p)) {
      return length - Number(await this.redis.xtrim(stream, 'MINID', keepFrom));
    }
    return length;
  }
}

/**
 * The write gate: refuses new changes while the outbox is at its bound (the write-behind is
 * not keeping up), rather than letting Redis run out of memory. Nothing is half applied: the
 * refusal comes before any script runs.
 */
export class OutboxGate {
  constructor(private readonly monitor: OutboxMonitor) {}

  /** @throws Unavailable (OUTBOX_FULL) while the outbox is full */
  check(events = 1): void {
    if (this.monitor.full()) {
      throw new Unavailable('Progress cannot be saved right now: the write-behind queue is full. Nothing was changed; retry in a little while.', 'OUTBOX_FULL');
    }
    this.monitor.appended(events);
  }
}
