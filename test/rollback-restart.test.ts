/**
 * Redis restarted from a snapshot older than Postgres: after the reconnect, changes wait until
 * the partitions behind Postgres are dropped and loaded again from it, so completions paid
 * before the snapshot's loss answer their first result (same event id) or ALREADY_COMPLETED
 * (a new one), never a second award. A private redis-server, killed and restarted from its RDB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RollbackGuard } from '../src/store/rollback';
import type { ScriptedClient } from '../src/store/redis/scripts';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, freePort, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp, type TestEnv } from './harness';

const dir = mkdtempSync(join(tmpdir(), 'lms-rollback-'));
let port: number;
let redisProcess: ChildProcess | null = null;
let env: TestEnv;
let t: TestApp;

async function startRedis(): Promise<void> {
  redisProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 0 });
  probe.on('error', () => undefined);
  await eventually(async () => (await probe.ping().catch(() => null)) === 'PONG', 5000, 'redis-server up');
  probe.disconnect();
}

async function killRedis(): Promise<void> {
  const child = redisProcess;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
  env = { ...newTestEnv(), redisUrl: `redis://127.0.0.1:${port}`, redisClusterNodes: null };
  t = await startTestApp(env, { config: { MEMBER_TTL_MS: '800', OUTBOX_SWEEP_MS: '200' } });
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'rr', modules: 1, lessons: 3, xpOf: (i) => 10 * (i + 1) }));
}, 60_000);

afterAll(async () => {
  await t?.stop().catch(() => undefined);
  await destroyTestEnv(env).catch(() => undefined);
  await killRedis();
  rmSync(dir, { recursive: true, force: true });
});

const learners = Array.from({ length: 8 }, (_, i) => `rr-${i}`);
const COMPLETE = 'mutation($l: ID, $x: ID!, $e: ID) { completeLesson(lessonId: $x, learnerId: $l, eventId: $e) { xpAwarded totalXp } }';

describe('Redis restarted from an older snapshot', () => {
  it('loads the learners it lost from Postgres before any change: no second award, no drift', async () => {
    const service = await tokenFor('lms', ['service']);
    const complete = (l: string, lesson: string, eventId: string) => t.gql(COMPLETE, { variables: { l, x: lesson, e: eventId }, token: service });
    for (const l of learners) {
      expect((await t.gql('mutation($l: ID) { enroll(courseId: "rr", learnerId: $l) { id } }', { variables: { l }, token: service })).errors).toBeUndefined();
      expect((await complete(l, 'rr-l1', `${l}-1`)).data?.completeLesson.totalXp).toBe(10);
    }
    await t.app.settle();
    // The snapshot: everything so far.
    await t.app.redis.bgsave();
    await eventually(async () => /rdb_bgsave_in_progress:0/.test(await t.app.redis.info('persistence')) && /rdb_last_bgsave_status:ok/.test(await t.app.redis.info('persistence')), 5000, 'BGSAVE');
    await new Promise((r) => setTimeout(r, 50));
    for (const l of learners) expect((await complete(l, 'rr-l2', `${l}-2`)).data?.completeLesson.totalXp).toBe(30);
    await t.app.settle();

    // Redis dies and comes back from the older snapshot; Postgres has the second lessons.
    await killRedis();
    await startRedis();
    const repairedBefore = t.app.rollback.partitionsRepaired;

    // The same event id again: its first result. A new id for the same lesson: ALREADY_COMPLETED.
    for (const l of learners) {
      const again = await eventually(async () => {
        const r = await complete(l, 'rr-l2', `${l}-2`);
        return r.errors?.[0]?.extensions?.code === 'UNAVAILABLE' ? null : r;
      }, 10_000, 'the service back');
      expect(again.errors).toBeUndefined();
      expect(again.data?.completeLesson).toEqual({ xpAwarded: 20, totalXp: 30 });
      const other = await complete(l, 'rr-l2', `${l}-2-other`);
      expect(other.errors?.[0]?.extensions?.code).toBe('ALREADY_COMPLETED');
      expect((await complete(l, 'rr-l3', `${l}-3`)).data?.completeLesson.totalXp).toBe(60);
    }
    expect(t.app.rollback.partitionsRepaired).toBeGreaterThan(repairedBefore);
    await t.app.settle();
    const report = await verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });
    expect(report.drift).toEqual([]);
    for (const l of learners) expect(await t.app.learnerRepo.ledgerTotal(l)).toBe(60);
    const board = await t.app.boardStore.ranks('g:all', learners);
    expect(board.map((e) => e?.score)).toEqual(learners.map(() => 60));
  }, 60_000);

  it('/ready shows the check and the repairs', async () => {
    const res = await fetch(`${t.url.replace(/\/graphql$/, '')}/ready`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { rollback: { state: string; checks: number; partitionsRepaired: number }; repairs: { detected: number; repaired: number; failed: number } };
    expect(body.rollback.state).toBe('verified');
    expect(body.rollback.checks).toBe(t.app.rollback.checks);
    expect(body.rollback.partitionsRepaired).toBeGreaterThan(0);
    expect(body.repairs).toEqual(t.app.repair.stats);
  });

  it('a master with a new run_id is noticed without a reconnect event (the watch)', async () => {
    // A guard of its own on a connection whose events nobody listens to, as a cluster client
    // that follows a failover without dropping anything: only the watch can notice.
    const redis2 = new Redis(port, '127.0.0.1', { retryStrategy: () => 50 });
    redis2.on('error', () => undefined);
    const guard = new RollbackGuard({
      redis: redis2 as unknown as ScriptedClient,
      keys: t.app.keys,
      knex: t.app.orm.em.getKnex(),
      boards: t.app.boardStore,
      flushPartition: (p) => t.app.flusher.flushPartition(p),
      log: t.app.log,
      name: 'watch-test',
      watchMs: 100,
    });
    try {
      await guard.check();
      guard.watch();
      expect(guard.state()).toMatchObject({ state: 'verified', newMasters: 0 });
      await killRedis();
      await startRedis();
      await eventually(async () => guard.state().newMasters === 1 && guard.state().state === 'verified', 15_000, 'the watch noticed the new master and checked it');
      // The app's own guard (reconnect events) and this one agree on the incarnation checked.
      expect(await redis2.get(t.app.keys.rollbackChecked())).toBe(await t.app.redis.get(t.app.keys.rollbackChecked()));
    } finally {
      guard.unwatch();
      redis2.disconnect();
    }
  }, 30_000);
});
