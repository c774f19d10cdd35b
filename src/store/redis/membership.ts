import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../../logger';
import type { Keys } from './keys';
import type { ScriptedClient } from './scripts';

export interface MembershipOptions {
  /** Which set: `servers`, or an outbox consumer group's name. */
  set: string;
  /** This instance's name (its consumer name in every group); unique per process by default. */
  name?: string;
  /** A member that has not sent a heartbeat for this long is gone; heartbeats go 3 times as often. */
  ttlMs: number;
  /** Only watch the live set, never join it (CLIs). */
  observer?: boolean;
}

/** A unique name for this process's instance. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

/**
 * Live instances, kept in one sorted set by heartbeats (Redis's clock decides who expired):
 * every running server (`servers`), and per outbox consumer group the instances running it.
 * A group's partitions are split between its live members: partition p belongs to the
 * (p mod n)-th name in sorted order. A member that stops beating is gone after `ttlMs`, and
 * the others claim what it had in hand at once instead of waiting for an idle timeout.
 */
export class Membership {
  readonly name: string;
  private live: readonly string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    private readonly log: Logger,
    private readonly options: MembershipOptions,
  ) {
    this.name = options.name ?? instanceName();
  }

  /** Join (beat once, so ownership is known before anything reads), then keep beating. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), Math.max(50, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Leave at once, so the others take over without waiting for the heartbeat to expire. */
  async stop(): Promise<void> {
    this.kill();
    if (!this.options.observer) await this.redis.zrem(this.keys.members(this.options.set), this.name).catch(() => undefined);
  }

  /** Stop beating without leaving, as a crashed process would (tests). */
  kill(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Send a heartbeat and refresh the live set (never throws: on failure, the last known set). */
  async beat(): Promise<readonly string[]> {
    try {
      const live = (await this.redis.heartbeat(this.keys.members(this.options.set), this.options.observer ? '' : this.name, this.options.ttlMs)) as string[];
      this.live = live;
    } catch (err) {
      // Keep the last known set: a Redis blip must not make every instance own every partition.
      this.log.warn({ err: (err as Error).message }, 'membership heartbeat failed');
    }
    return this.live;
  }

  /** The live members as last seen (this instance included once it has joined). */
  members(): readonly string[] {
    if (this.options.observer || this.live.includes(this.name)) return this.live;
    return [...this.live, this.name].sort();
  }

  isLive(name: string): boolean {
    return name === this.name || this.live.includes(name);
  }

  /** Whether this instance reads partition `p` (another instance reads it otherwise). */
  owns(p: number): boolean {
    const members = this.members();
    if (members.length === 0) return true;
    return members[p % members.length] === this.name;
  }
}
