import { Redis, type Cluster, type RedisOptions } from 'ioredis';
import { defineScripts, type ScriptedRedis } from './scripts';

/** A connection to Redis: one node, or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * A connection to the hot store. `lazyConnect` so start-up can await `connect()` and report
 * a missing Redis in one line instead of retrying forever.
 */
export function createRedis(url: string, options: RedisOptions = {}): ScriptedRedis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
    ...options,
  });
  return defineScripts(redis);
}

/** Delete every key matching a pattern (tests, rebuilds). Uses SCAN, never KEYS. */
export async function deleteMatching(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
