/**
 * The hot store on a real Redis Cluster. Skipped unless TEST_REDIS_CLUSTER_NODES names the
 * cluster's nodes (`scripts/test-cluster.sh` starts one and sets it), e.g.
 *   TEST_REDIS_CLUSTER_NODES=$(scripts/redis-cluster.sh start) npx vitest run --project integration src/store/redis/cluster.test.ts
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyLearner } from '../../domain/learners/state';
import { NO_CANDIDATES } from '../../domain/badges/compile';
import type { PreparedEvent } from '../../domain/events/prepare';
import { BoardStore } from './boards';
import { createRedis, dedicatedConnection, deleteMatching, onEveryMaster, probeRedis, scanKeys, subscriberCounts } from './client';
import { Keys } from './keys';
import { LearnerHotStore } from './learners';
import type { ScriptedRedis } from './scripts';

const NODES = (process.env.TEST_REDIS_CLUSTER_NODES ?? '')
  .split(',')
  .map((n) => n.trim())
  .filter(Boolean);

const prefix = `test:${randomUUID().slice(0, 8)}:`;
const keys = new Keys(prefix, 16);
const now = Date.UTC(2026, 10, 22, 10, 0, 0);
const outboxes = (k: Keys) => k.allPartitions().map((p) => k.outbox(p));

function prepared(kind: 'ENROLLED' | 'LESSON_COMPLETED', learnerId: string, at: number): PreparedEvent {
  const key = randomUUID();
  const base = { id: key, idFromCaller: false, key, learnerId, occurredAt: at, recordedAt: at };
  return kind === 'ENROLLED'
    ? { event: { ...base, kind, payload: { courseId: 'c1' } }, courseId: 'c1', badges: NO_CANDIDATES }
    : { event: { ...base, kind, payload: { lessonId: 'l1' } }, lessonId: 'l1', courseId: 'c1', xp: 40, video: false, courseShape: '{"l":[],"q":[]}', badges: NO_CANDIDATES };
}

let redis: ScriptedRedis<Cluster>;
let other: ScriptedRedis<Cluster>;

/** `host:port` of the master serving `key`, as the cluster itself says. */
async function masterOf(key: string): Promise<string> {
  const slot = Number(await redis.cluster('KEYSLOT', key));
  const ranges = (await redis.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const range = ranges.find(([from, to]) => slot >= from && slot <= to)!;
  return `${range[2][0]}:${range[2][1]}`;
}

const nameOf = (node: Redis) => `${node.options.host}:${node.options.port}`;

/** Wait until `check()` holds, polling. */
async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(NODES.length === 0)('on a Redis Cluster', () => {
  beforeAll(async () => {
    await probeRedis({ clusterNodes: NODES });
    redis = createRedis({ clusterNodes: NODES });
    other = createRedis({ clusterNodes: NODES });
    await Promise.all([redis.connect(), other.connect()]);
  });

  afterAll(async () => {
    if (!redis) return;
    await deleteMatching(redis, `${prefix}*`);
    redis.disconnect();
    other.disconnect();
  });

  it('has at least three masters, and the partitions spread over all of them', async () => {
    const masters = redis.nodes('master').map(nameOf);
    expect(masters.length).toBeGreaterThanOrEqual(3);
    const owners = new Set(await Promise.all(outboxes(keys).map((k) => masterOf(k))));
    expect([...owners].sort()).toEqual([...masters].sort());
  });

  it("runs the project's scripts on hash-tagged keys, every learner's keys in one slot", async () => {
    // The stores still take a single-node ScriptedRedis; the commands they use exist on both.
    const store = new LearnerHotStore(redis as unknown as ScriptedRedis, keys, { eventRecordTtlMs: 60_000, boardPeriodGraceMs: 86_400_000 });
    const learners = Array.from({ length: 24 }, (_, i) => `learner-${i}`);
    await Promise.all(learners.map((id) => store.hydrate(emptyLearner(id))));
    await Promise.all(learners.map((id) => store.run(prepared('ENROLLED', id, now))));
    const done = await Promise.all(learners.map((id) => store.run(prepared('LESSON_COMPLETED', id, now + 1))));
    expect(done.map((o) => (o.status === 'applied' ? o.effects.totalXp : o.status))).toEqual(learners.map(() => 40));
    expect(await store.run(prepared('LESSON_COMPLETED', 'learner-0', now + 2))).toMatchObject({ status: 'rejected', error: { code: 'ALREADY_COMPLETED' } });
    // Two outbox entries per learner (enrolled, completed), in their partition's stream.
    const lengths = await Promise.all(outboxes(keys).map((k) => redis.xlen(k)));
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(2 * learners.length);
    expect(new Set(await Promise.all(learners.map((id) => masterOf(keys.learner(id))))).size).toBeGreaterThan(1);
  });

  it('falls back to EVAL per node when a node lost its scripts (SCRIPT FLUSH)', async () => {
    redis.defineCommand('testIncr', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" });
    const incr = (key: string) => (redis as unknown as { testIncr(k: string): Promise<number> }).testIncr(key);
    const counters = Array.from({ length: 16 }, (_, p) => `${prefix}{p${p}}:n`);
    expect(await Promise.all(counters.map(incr))).toEqual(counters.map(() => 1));
    await onEveryMaster(redis, (node) => node.script('FLUSH'));
    expect(await Promise.all(counters.map(incr))).toEqual(counters.map(() => 2));
  });

  it('refuses a command whose keys are in two slots: CROSSSLOT from a node, an error from the client first', async () => {
    const a = `${prefix}{p1}:x`;
    const b = `${prefix}{p2}:x`;
    // ioredis checks the slots before sending.
    await expect(redis.mget(a, b)).rejects.toThrow(/same slot/);
    await expect(redis.eval("return redis.call('GET', KEYS[2])", 2, a, b)).rejects.toThrow(/same slot/);
    // A node refuses it whichever node it is.
    const node = redis.nodes('master')[0]!;
    await expect(node.mget(a, b)).rejects.toThrow(/^CROSSSLOT/);
    await expect(node.unlink(a, b)).rejects.toThrow(/^CROSSSLOT/);
    // A script touching a key of another slot than its KEYS fails at that call.
    await expect(redis.eval(`return redis.call('GET', '${b}')`, 1, a)).rejects.toThrow(/non local key|CROSSSLOT|hash to the same slot/);
    // One slot is fine.
    expect(await redis.mget(a, `${prefix}{p1}:y`)).toEqual([null, null]);
  });

  it('runs concurrent commands on keys of every node through auto-pipelining', async () => {
    const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.hincrby(`${prefix}{p${i % 64}}:h`, `f${i}`, 1)));
    expect(replies.every((r) => r === 1)).toBe(true);
    // EVAL, XREADGROUP and friends carry a non-key first argument: kept out of auto-pipelines.
    const lens = await Promise.all(Array.from({ length: 64 }, (_, p) => redis.eval("return redis.call('HLEN', KEYS[1])", 1, `${prefix}{p${p}}:h`)));
    expect(lens.reduce((a: number, b) => a + Number(b), 0)).toBe(1000);
  });

  it('deleteMatching removes keys spread over every master, and nothing else', async () => {
    const wanted = `${prefix}del:`;
    const keep = `${prefix}keep:{p3}`;
    await Promise.all(Array.from({ length: 300 }, (_, i) => redis.set(`${wanted}{p${i % 64}}:${i}`, '1')));
    await redis.set(keep, '1');
    const perMaster = await onEveryMaster(redis, async (node) => {
      let n = 0;
      await scanKeys(node, `${wanted}*`, (page) => void (n += page.length));
      return n;
    });
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(300);
    expect(await deleteMatching(redis, `${wanted}*`)).toBe(300);
    let left = 0;
    await scanKeys(redis, `${wanted}*`, (page) => void (left += page.length));
    expect(left).toBe(0);
    expect(await redis.exists(keep)).toBe(1);
  });

  it('delivers a PUBLISH from another client and from inside a keyed script to a subscriber', async () => {
    const sub = dedicatedConnection(redis);
    await sub.connect();
    try {
      const channel = keys.channel('board');
      const got: string[] = [];
      sub.on('message', (ch: string, message: string) => {
        if (ch === channel) got.push(message);
      });
      await sub.subscribe(channel);
      // PUBSUB NUMSUB is per node: one subscriber in all, on one master.
      const counts = await onEveryMaster(redis, async (node) => Number(((await node.pubsub('NUMSUB', channel)) as [string, number])[1]));
      expect(counts.filter((n) => n > 0)).toEqual([1]);
      expect((await subscriberCounts(redis, [channel])).get(channel)).toBe(1);

      // Published through each master in turn, and through another cluster client.
      for (const node of redis.nodes('master')) await node.publish(channel, `direct-${nameOf(node)}`);
      await other.publish(channel, 'other-client');
      // Inside a script on a keyed slot (the board script publishes its moves this way).
      await other.eval("redis.call('PUBLISH', ARGV[1], ARGV[2]) return 1", 1, `${prefix}{b:c1}:z`, channel, 'from-lua');
      const boards = new BoardStore(other as unknown as ScriptedRedis, keys, async () => [], { periodGraceMs: 86_400_000 });
      expect(await boards.setScores('c1', [{ learnerId: 'amy', score: 40, reachedAt: now, epoch: 1, version: 1 }])).toBe(1);
      await until(() => got.length >= 6, `6 messages (have ${JSON.stringify(got)})`);
      // Messages published on different nodes reach the subscriber's node over the cluster bus,
      // in no particular order between them.
      const board = got.find((m) => m.startsWith('{'));
      expect(got.filter((m) => m !== board).sort()).toEqual([...redis.nodes('master').map((n) => `direct-${nameOf(n)}`), 'from-lua', 'other-client'].sort());
      expect(JSON.parse(board!)).toMatchObject({ b: 'c1', mv: [['amy', false, false, 40, expect.stringMatching(/\|amy$/)]] });
    } finally {
      sub.disconnect();
    }
  });

  it('keeps the order of messages published from one slot (a keyed script), whatever node the subscriber is on', async () => {
    const sub = dedicatedConnection(redis);
    await sub.connect();
    try {
      const channel = `${prefix}topic:ordered`;
      const got: number[] = [];
      sub.on('message', (ch: string, message: string) => {
        if (ch === channel) got.push(Number(message));
      });
      await sub.subscribe(channel);
      // Awaited one after the other, as a service publishes one learner's events. (A keyless
      // PUBLISH through a Cluster goes to a random node each time and may arrive out of order.)
      for (let i = 0; i < 200; i += 1) await redis.eval("return redis.call('PUBLISH', ARGV[1], ARGV[2])", 1, `${prefix}{topic}`, channel, i);
      await until(() => got.length >= 200, `200 messages (have ${got.length})`);
      expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    } finally {
      sub.disconnect();
    }
  });

  it('runs XADD, XREADGROUP, XACK and XAUTOCLAIM on one stream per call, blocking on a dedicated connection', async () => {
    const streamKeys = new Keys(`${prefix}streams:`, 8);
    const streams = outboxes(streamKeys);
    // One call per stream: a multi-stream XREADGROUP would be cross-slot.
    await Promise.all(streams.map((s) => redis.xgroup('CREATE', s, 'g', '0', 'MKSTREAM')));
    await expect(redis.xgroup('CREATE', streams[0]!, 'g', '0', 'MKSTREAM')).rejects.toThrow(/BUSYGROUP/);
    await Promise.all(streams.map((s, i) => redis.xadd(s, '*', 't', 'e', 'd', String(i))));
    const reads = (await Promise.all(streams.map((s) => redis.xreadgroup('GROUP', 'g', 'a', 'COUNT', 10, 'STREAMS', s, '>')))) as [string, [string, string[]][]][][];
    expect(reads.map((r) => r[0]![1].length)).toEqual(streams.map(() => 1));
    await expect(redis.xreadgroup('GROUP', 'g', 'a', 'COUNT', 10, 'STREAMS', streams[0]!, streams[1]!, '>', '>')).rejects.toThrow(/same slot/);

    // Consumer a acks the even streams and dies; b claims what a left pending.
    const ids = reads.map((r) => r[0]![1][0]![0]);
    expect(await Promise.all(streams.map((s, i) => (i % 2 === 0 ? redis.xack(s, 'g', ids[i]!) : Promise.resolve(0))))).toEqual(streams.map((_, i) => (i % 2 === 0 ? 1 : 0)));
    await new Promise((r) => setTimeout(r, 20));
    const claimed = (await Promise.all(streams.map((s) => redis.xautoclaim(s, 'g', 'b', 10, '0-0', 'COUNT', 10)))) as [string, [string, string[]][], string[]][];
    expect(claimed.map((c) => c[1].length)).toEqual(streams.map((_, i) => (i % 2 === 0 ? 0 : 1)));
    const pending = await Promise.all(streams.map((s) => redis.xpending(s, 'g')));
    expect(pending.map((p) => Number((p as [number])[0]))).toEqual(streams.map((_, i) => i % 2));

    // A blocking read on its own connection wakes on XADD, and other commands are not held up.
    const blocking = dedicatedConnection(redis);
    await blocking.connect();
    try {
      const started = Date.now();
      const read = blocking.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'BLOCK', 5000, 'STREAMS', streams[3]!, '>');
      await new Promise((r) => setTimeout(r, 50));
      const t = Date.now();
      await redis.xlen(streams[3]!);
      expect(Date.now() - t).toBeLessThan(500);
      await redis.xadd(streams[3]!, '*', 't', 'late');
      const woke = (await read) as [string, [string, string[]][]][];
      expect(woke[0]![1][0]![1]).toEqual(['t', 'late']);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      blocking.disconnect();
    }
  });

  it('allows TIME in a script before writes (effects replication)', async () => {
    const reply = (await redis.eval("local t = redis.call('TIME') redis.call('SET', KEYS[1], t[1]) return t", 1, `${prefix}{p5}:t`)) as string[];
    expect(Math.abs(Number(reply[0]) - Date.now() / 1000)).toBeLessThan(60);
    expect(await redis.get(`${prefix}{p5}:t`)).toBe(reply[0]);
  });
});
