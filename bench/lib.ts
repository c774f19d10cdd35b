/**
 * Shared helpers of the benchmarks: everything in common.ts (isolated database and key prefix,
 * the server as a child process, /proc and Redis readings, env parsing, result output) plus the
 * few that need src/ (the outbox layout). Not a benchmark itself.
 *
 * bench/compare.ts imports common.ts only: it runs against other checkouts, so it must not
 * depend on this checkout's src/.
 */
import type { RedisClient } from '../src/store/redis/client';
import type { Keys } from '../src/store/redis/keys';
import { GROUPS } from '../src/store/outbox/groups';

export * from './common';

/**
 * Outbox entries one consumer group has not finished: never delivered to it (lag) plus delivered
 * but not acknowledged (pending). XLEN alone would also count acknowledged entries not trimmed yet.
 * The default group is the Postgres flusher (`GROUPS.postgres`); pass `GROUPS.boards` for the
 * leaderboard projection.
 */
export async function outboxBacklog(redis: RedisClient, keys: Keys, group: string = GROUPS.postgres): Promise<number> {
  const streams = keys.allPartitions().map((p) => keys.outbox(p));
  // One command per stream: a cluster cannot pipeline keys of different slots.
  const replies = await Promise.all(streams.map((s) => redis.xinfo('GROUPS', s) as Promise<(string | number | null)[][]>));
  let total = 0;
  for (const [i, groups] of replies.entries()) {
    for (const flat of groups) {
      const info = new Map<string, string | number | null>();
      for (let j = 0; j + 1 < flat.length; j += 2) info.set(String(flat[j]), flat[j + 1] ?? null);
      if (info.get('name') !== group) continue;
      const lag = info.get('lag');
      // lag is null when Redis cannot tell (after deletions): count the whole stream then.
      total += Number(info.get('pending') ?? 0) + (lag === null || lag === undefined ? await redis.xlen(streams[i]!) : Number(lag));
    }
  }
  return total;
}
