import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { defineScripts, type ScriptedRedis } from './scripts';
import { redactUrl } from '../../logger';
import { watchConnection, watcherOf } from './errors';

/** A single Redis or a Redis Cluster: the commands the service uses exist on both. */
export type RedisClient = Redis | Cluster;

/** Where the hot store is: a `redis://` URL (one node) or the seed nodes of a cluster. */
export type RedisTarget = string | { clusterNodes: string[] };

/** The target a config names: the cluster when `REDIS_CLUSTER_NODES` is set, else `REDIS_URL`. */
export function redisTargetOf(config: { redisUrl: string; redisClusterNodes?: string[] | null }): RedisTarget {
  return config.redisClusterNodes?.length ? { clusterNodes: config.redisClusterNodes } : config.redisUrl;
}

/** `host:port` (or `[v6]:port`) as ioredis wants it. @throws Error on anything else */
export function parseNode(node: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(node.trim());
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new Error(`not a host:port: "${node}"`);
  return { host: (match[1] ?? match[2])!, port };
}

/** A readable name for logs and messages: the URL without its password, or `cluster(a,b,c)`. */
export function describeTarget(target: RedisTarget): string {
  return typeof target === 'string' ? redactUrl(target) : `cluster(${target.clusterNodes.join(',')})`;
}

/**
 * Commands a `Cluster` must not auto-pipeline. ioredis picks a command's auto-pipeline by the
 * slot of its *first argument*; for these the first argument is not a key (`EVAL script 1 key`,
 * `XREADGROUP GROUP g c STREAMS key`, `XGROUP CREATE key`, `ZUNION 2 a b`...), so concurrent calls
 * on keys of different nodes land in one pipeline and all fail with "All keys in the pipeline
 * should belong to the same slots allocation group", and commands whose key ioredis cannot find
 * at all (XGROUP, XINFO, OBJECT, MEMORY) go to a random node in a pipeline, where a MOVED reply
 * is not followed. Sent one by one they are routed by their key, or follow MOVED.
 * (Scripts defined with `defineCommand` take the first key first and pipeline fine.)
 */
export const CLUSTER_UNPIPELINED_COMMANDS = [
  'eval',
  'evalsha',
  'eval_ro',
  'evalsha_ro',
  'fcall',
  'fcall_ro',
  'xread',
  'xreadgroup',
  'xgroup',
  'xinfo',
  'object',
  'memory',
  'bitop',
  'sintercard',
  'zinter',
  'zunion',
  'zdiff',
  'zintercard',
  'lmpop',
  'blmpop',
  'zmpop',
  'bzmpop',
];

/** The defaults every connection gets; `options` override them. */
const DEFAULTS: RedisOptions = { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 3 };

/** How long a request may wait on Redis (see `REDIS_COMMAND_TIMEOUT_MS`, `REDIS_CONNECT_TIMEOUT_MS`). */
export interface RedisTimeouts {
  commandMs: number;
  connectMs: number;
}

/**
 * Options that make a command fail within `commandMs` instead of waiting for a Redis that is
 * down or frozen: `commandTimeout` also covers a command queued while reconnecting (the offline
 * queue), so queueing stays bounded; `maxRetriesPerRequest` fails queued commands sooner when
 * Redis refuses connections outright. Reconnects back off to at most a second, so requests
 * succeed again about a second after Redis is back. A command that timed out may still run
 * when a frozen Redis wakes up: its outcome is unknown, which callers' event ids make safe to
 * retry.
 */
export function failFastOptions(timeouts: RedisTimeouts): RedisOptions {
  return {
    commandTimeout: timeouts.commandMs,
    connectTimeout: timeouts.connectMs,
    maxRetriesPerRequest: 2,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
}

/**
 * A connection to the hot store, the project's scripts defined on it. `lazyConnect` so start-up
 * can await `connect()` and report a missing Redis in one line instead of retrying forever.
 *
 * With `{ clusterNodes }` it is an ioredis `Cluster`: `lazyConnect` and `enableAutoPipelining`
 * apply to the cluster (auto-pipelining batches per node, so concurrent commands on keys of
 * different slots are fine), every other option goes to each node's connection
 * (`redisOptions`); `clusterOptions` are passed to the cluster as they are.
 */
export function createRedis(url: string, options?: RedisOptions): ScriptedRedis;
export function createRedis(target: { clusterNodes: string[] }, options?: RedisOptions, clusterOptions?: ClusterOptions): ScriptedRedis<Cluster>;
export function createRedis(target: RedisTarget, options?: RedisOptions, clusterOptions?: ClusterOptions): ScriptedRedis<RedisClient>;
export function createRedis(target: RedisTarget, options: RedisOptions = {}, clusterOptions: ClusterOptions = {}): ScriptedRedis<RedisClient> {
  if (typeof target === 'string') return defineScripts(new Redis(target, { ...DEFAULTS, ...options }));
  if (target.clusterNodes.length === 0) throw new Error('a cluster needs at least one seed node');
  const nodes: ClusterNode[] = target.clusterNodes.map(parseNode);
  const { lazyConnect, enableAutoPipelining, ...redisOptions } = { ...DEFAULTS, ...options };
  const cluster = new Cluster(nodes, {
    lazyConnect,
    enableAutoPipelining,
    redisOptions,
    // Topology changes (failover, resharding) are followed through MOVED/ASK; a short refresh
    // timeout keeps a command from waiting long on a dead node's slots.
    slotsRefreshTimeout: 2000,
    ...clusterOptions,
    autoPipeliningIgnoredCommands: [...CLUSTER_UNPIPELINED_COMMANDS, ...(clusterOptions.autoPipeliningIgnoredCommands ?? [])],
  });
  return defineScripts(cluster);
}

/**
 * A dedicated connection like `client` (same node or cluster, same options, scripts defined)
 * for blocking commands (XREADGROUP BLOCK) or SUBSCRIBE, so those never hold up other commands.
 * Lazy and without auto-pipelining unless `overrides` say otherwise; the caller connects and
 * disconnects it. Without a command timeout unless `overrides` give one: ioredis applies
 * `commandTimeout` to a BLOCK read too, which would fail every read that waits longer (give a
 * blocking connection none, or one longer than its BLOCK). When `client` is watched
 * (`watchConnection`), the copy is watched too, as `<name>/<purpose>`.
 *
 * Needed because `Cluster#duplicate(startupNodes, options)` has another signature than
 * `Redis#duplicate(options)`: `cluster.duplicate({ ... })` silently ignores the options.
 */
export function dedicatedConnection<C extends RedisClient>(client: C, overrides: RedisOptions = {}, purpose = 'dedicated'): ScriptedRedis<C> {
  const wanted: RedisOptions = { lazyConnect: true, enableAutoPipelining: false, commandTimeout: undefined, ...overrides };
  let copy: C;
  if (!isCluster(client)) {
    copy = (client as Redis).duplicate(wanted) as C;
  } else {
    const cluster = client as Cluster;
    const { lazyConnect, enableAutoPipelining, ...redisOptions } = wanted;
    copy = cluster.duplicate([], {
      lazyConnect,
      enableAutoPipelining,
      redisOptions: { ...cluster.options.redisOptions, ...redisOptions },
    }) as C;
  }
  const watcher = watcherOf(client);
  if (watcher) watchConnection(copy, watcher.log, `${watcher.name}/${purpose}`, watcher.intervalMs);
  return defineScripts(copy);
}

/**
 * Connect (when lazy) and PING, without retrying: start-up uses it to fail in one line when the
 * store is missing. On a cluster every master is pinged. The probe is closed either way.
 * @throws Error with the driver's message
 */
export async function probeRedis(target: RedisTarget, timeoutMs = 3000): Promise<void> {
  const probe =
    typeof target === 'string'
      ? new Redis(target, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs })
      : new Cluster(target.clusterNodes.map(parseNode), {
          lazyConnect: true,
          clusterRetryStrategy: () => null,
          enableOfflineQueue: false,
          slotsRefreshTimeout: timeoutMs,
          redisOptions: { maxRetriesPerRequest: 0, connectTimeout: timeoutMs },
        });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await onEveryMaster(probe, (node) => node.ping());
  } finally {
    probe.disconnect();
  }
}

/** Whether a client is a `Cluster` (by its flag, not `instanceof`, which two copies of ioredis would break). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis.isCluster;
}

/** The masters of a cluster, once it knows its slots (sending a command starts a lazy one). */
async function mastersOf(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status !== 'ready') await cluster.ping();
  const masters = cluster.nodes('master');
  if (masters.length === 0) throw new Error('the cluster has no master');
  return masters;
}

/**
 * Call `onPage` with every key matching `pattern`, a page (SCAN batch, up to ~`count` keys) at
 * a time; on a cluster, SCAN runs on every master. A key may be seen twice (SCAN's guarantee);
 * keys added during the scan may be missed.
 */
export async function scanKeys(
  redis: RedisClient,
  pattern: string,
  onPage: (keys: string[]) => Promise<void> | void,
  count = 1000,
): Promise<void> {
  const nodes = isCluster(redis) ? await mastersOf(redis) : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length) await onPage(keys);
    } while (cursor !== '0');
  }
}

/** Delete every key matching a pattern (tests, rebuilds). Uses SCAN, never KEYS. @returns how many */
export async function deleteMatching(redis: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  await scanKeys(redis, pattern, async (keys) => {
    if (isCluster(redis)) {
      // A multi-key UNLINK must stay in one slot; one UNLINK per key, written back to back
      // (and batched per node when auto-pipelining is on), and routed by the cluster.
      const counts = await Promise.all(keys.map((key) => redis.unlink(key)));
      deleted += counts.reduce((a, b) => a + b, 0);
    } else {
      deleted += await redis.unlink(...keys);
    }
  });
  return deleted;
}

/**
 * Run a node-local command (INFO, PUBSUB NUMSUB, CONFIG GET, DBSIZE...) on every master of a
 * cluster, or on the one node. Through a `Cluster` such keyless commands go to one random node.
 */
export async function onEveryMaster<T>(redis: RedisClient, run: (node: Redis) => Promise<T>): Promise<T[]> {
  const nodes = isCluster(redis) ? await mastersOf(redis) : [redis];
  return Promise.all(nodes.map(run));
}

/**
 * Subscribers of each channel (PUBSUB NUMSUB), summed over every master: on a cluster a SUBSCRIBE
 * lives on the one node its connection picked, PUBSUB NUMSUB counts that node's only, and a
 * PUBLISH on any node reaches them all.
 */
export async function subscriberCounts(redis: RedisClient, channels: string[]): Promise<Map<string, number>> {
  const counts = new Map(channels.map((c) => [c, 0]));
  if (channels.length === 0) return counts;
  const replies = await onEveryMaster(redis, (node) => node.pubsub('NUMSUB', ...channels) as Promise<(string | number)[]>);
  for (const reply of replies) {
    for (let i = 0; i < reply.length; i += 2) {
      const channel = String(reply[i]);
      counts.set(channel, (counts.get(channel) ?? 0) + Number(reply[i + 1]));
    }
  }
  return counts;
}
