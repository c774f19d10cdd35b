/**
 * Redis behind Postgres (restored from an older snapshot, a failover that lost writes): the
 * write-behind notices, rebuilds the learner and their board entries from Postgres, and
 * `verify` reports the drift until then. A learner's hash is rolled back here with DUMP/RESTORE,
 * the way a restore from an older RDB would leave it.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, freePort, makeCourse, newTestEnv, redisEnvOf, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

beforeAll(async () => {
  t = await startTestApp(env, { config: { MEMBER_TTL_MS: '800', OUTBOX_SWEEP_MS: '200' } });
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'rb', modules: 1, lessons: 6, xpOf: (i) => 10 * (i + 1) }));
  service = await tokenFor('lms', ['service']);
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

const COMPLETE = 'mutation($l: ID, $x: ID!, $e: ID) { completeLesson(lessonId: $x, learnerId: $l, eventId: $e) { xpAwarded totalXp } }';

async function complete(learnerId: string, lessonId: string, eventId?: string) {
  return t.gql(COMPLETE, { variables: { l: learnerId, x: lessonId, e: eventId }, token: service });
}

/** Roll a learner's hash back to an earlier DUMP, and forget the event ids given since. */
async function rollBack(learnerId: string, dump: Buffer, forget: string[]): Promise<void> {
  const key = t.app.keys.learner(learnerId);
  await t.app.redis.restore(key, 0, dump, 'REPLACE');
  for (const id of forget) await t.app.redis.del(t.app.keys.eventRecord(learnerId, id));
}

async function verify() {
  const { redis, keys } = t.app;
  return verifyStores({ redis, keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });
}

async function learnerState(learnerId: string) {
  const [c] = await t.app.learnerStore.counters([learnerId]);
  const [board] = await t.app.boardStore.ranks('g:all', [learnerId]);
  const [course] = await t.app.boardStore.ranks('c:rb:all', [learnerId]);
  return { xp: c!.totalXp, board: board?.score ?? 0, course: course?.score ?? 0, ledger: await t.app.learnerRepo.ledgerTotal(learnerId) };
}

describe('Redis behind Postgres', () => {
  it('a lesson paid again after a rollback is noticed, the learner rebuilt from Postgres, and the next try is ALREADY_COMPLETED', async () => {
    const l = 'rb-paid';
    await t.gql('mutation($l: ID) { enroll(courseId: "rb", learnerId: $l) { id } }', { variables: { l }, token: service });
    expect((await complete(l, 'rb-l1', 'p-1')).data?.completeLesson.totalXp).toBe(10);
    await t.app.settle();
    const before = await t.app.redis.dumpBuffer(t.app.keys.learner(l));
    expect((await complete(l, 'rb-l2', 'p-2')).data?.completeLesson.totalXp).toBe(30);
    await t.app.settle();
    expect((await verify()).drift).toEqual([]);

    await rollBack(l, before!, ['p-2']);
    // Redis no longer knows rb-l2 was completed: verify sees it behind Postgres.
    const seen = await verify();
    expect(seen.drift.map((d) => d.learnerId)).toContain(l);
    expect(seen.drift.find((d) => d.learnerId === l)?.what).toMatch(/fell behind/);

    const detectedBefore = t.app.repair.stats.detected;
    // The retry is paid by Redis (it cannot know yet); the ledger keeps the first payment only.
    await complete(l, 'rb-l2', 'p-2-again');
    await eventually(() => t.app.repair.stats.detected > detectedBefore, 5000, 'detection');
    expect(t.app.repair.stats.detected).toBe(detectedBefore + 1);
    await t.app.repair.idle();
    await t.app.settle();
    expect(await learnerState(l)).toEqual({ xp: 30, board: 30, course: 30, ledger: 30 });
    expect((await verify()).drift).toEqual([]);

    // Rebuilt: a third try is refused, and the next real completion counts (the board takes it).
    const third = await complete(l, 'rb-l2', 'p-2-third');
    expect(third.errors?.[0]?.extensions?.code).toBe('ALREADY_COMPLETED');
    expect((await complete(l, 'rb-l3', 'p-3')).data?.completeLesson.totalXp).toBe(60);
    await t.app.settle();
    expect(await learnerState(l)).toEqual({ xp: 60, board: 60, course: 60, ledger: 60 });
    expect((await verify()).drift).toEqual([]);
  });

  it('a version counted twice after a rollback is noticed; the new lesson is kept and the lost one comes back', async () => {
    const l = 'rb-version';
    await t.gql('mutation($l: ID) { enroll(courseId: "rb", learnerId: $l) { id } }', { variables: { l }, token: service });
    await complete(l, 'rb-l1', 'v-1');
    await t.app.settle();
    const before = await t.app.redis.dumpBuffer(t.app.keys.learner(l));
    await complete(l, 'rb-l2', 'v-2');
    await t.app.settle();
    await rollBack(l, before!, ['v-2']);

    const detectedBefore = t.app.repair.stats.detected;
    // A lesson Postgres has not seen: paid once, with the version rb-l2 had.
    expect((await complete(l, 'rb-l4', 'v-4')).data?.completeLesson.totalXp).toBe(50);
    await eventually(async () => t.app.repair.stats.detected > detectedBefore && (await learnerState(l)).xp === 70, 5000, 'repair');
    await t.app.repair.idle();
    await t.app.settle();
    expect(await learnerState(l)).toEqual({ xp: 70, board: 70, course: 70, ledger: 70 });
    expect((await verify()).drift).toEqual([]);
    // The lost completion is back: trying it again is refused.
    expect((await complete(l, 'rb-l2', 'v-2-again')).errors?.[0]?.extensions?.code).toBe('ALREADY_COMPLETED');
  });

  it('a board guard left by an earlier epoch does not block the rebuilt learner (Redis lost the hash, not the board)', async () => {
    const l = 'rb-epoch';
    await t.gql('mutation($l: ID) { enroll(courseId: "rb", learnerId: $l) { id } }', { variables: { l }, token: service });
    await complete(l, 'rb-l1');
    await complete(l, 'rb-l2');
    await t.app.settle();
    // The board saw versions Postgres and the hash no longer have (they were lost with the outbox).
    const meta = t.app.keys.board('g:all').meta;
    const stamp = String(await t.app.redis.hget(meta, `v:${l}`));
    const [epoch] = stamp.split(':');
    await t.app.redis.hset(meta, `v:${l}`, `${epoch}:99`);
    // Redis loses the hash; it is loaded again from Postgres under a new epoch.
    await t.app.redis.del(t.app.keys.learner(l));
    expect((await complete(l, 'rb-l3')).data?.completeLesson.totalXp).toBe(60);
    await t.app.settle();
    expect(await learnerState(l)).toEqual({ xp: 60, board: 60, course: 60, ledger: 60 });
  });

  it('verify reports a board score that disagrees with the total, and repair fixes it', async () => {
    const l = 'rb-board';
    await t.gql('mutation($l: ID) { enroll(courseId: "rb", learnerId: $l) { id } }', { variables: { l }, token: service });
    await complete(l, 'rb-l1');
    await t.app.settle();
    const meta = t.app.keys.board('g:all').meta;
    await t.app.redis.hset(meta, `s:${l}`, 999);
    const report = await verify();
    expect(report.drift).toEqual([{ learnerId: l, boardId: 'g:all', what: 'board score 999 vs 10' }]);
    const { redis, keys } = t.app;
    const repaired = await verifyStores({ redis, keys, hot: t.app.hot, repo: t.app.learnerRepo, repair: t.app.repair }, { recheckDelayMs: 200 });
    expect(repaired.repaired).toEqual([l]);
    expect(repaired.driftAfterRepair).toEqual([]);
    expect((await verify()).drift).toEqual([]);
  });
});

/** `npm run verify` as a user runs it (without npm's banner): exit code and output. */
function verifyCli(...args: string[]): Promise<{ code: number | null; out: string }> {
  return verifyCliWith({}, ...args);
}

function verifyCliWith(extraEnv: Record<string, string>, ...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/verify.ts', ...args], {
    env: { ...process.env, ...redisEnvOf(env), DATABASE_URL: env.databaseUrl, KEY_PREFIX: env.keyPrefix, PARTITIONS: '16', LOG_LEVEL: 'silent', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('npm run verify', () => {
  it('exits 1 and names the drift; --repair rebuilds the learner and exits 0; then it exits 0', async () => {
    const l = 'rb-cli';
    await t.gql('mutation($l: ID) { enroll(courseId: "rb", learnerId: $l) { id } }', { variables: { l }, token: service });
    await complete(l, 'rb-l1');
    await complete(l, 'rb-l2');
    await t.app.settle();
    // Redis loses a lesson and its XP (as a restore from an older snapshot would).
    const key = t.app.keys.learner(l);
    await t.app.redis.hdel(key, 'l:rb-l2');
    await t.app.redis.hincrby(key, 'xp', -20);
    const found = await verifyCli();
    expect(found.code).toBe(1);
    expect(found.out).toMatch(/DRIFT rb-cli: Redis total 10 vs ledger sum 30/);
    const fixed = await verifyCli('--repair', '--json');
    expect(fixed.code).toBe(0);
    const report = JSON.parse(fixed.out.trim().split('\n').at(-1)!) as { repaired: string[]; driftAfterRepair: unknown[] };
    expect(report.repaired).toEqual([l]);
    expect(report.driftAfterRepair).toEqual([]);
    expect(await learnerState(l)).toEqual({ xp: 30, board: 30, course: 30, ledger: 30 });
    const clean = await verifyCli();
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/No drift\./);
  }, 60_000);

  it('exits 2 with one line, instead of hanging, when Redis is frozen', async () => {
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await eventually(async () => {
        try {
          const c = connect(port, '127.0.0.1');
          await new Promise((resolve, reject) => c.once('connect', resolve).once('error', reject));
          c.destroy();
          return true;
        } catch {
          return false;
        }
      }, 5000, 'redis-server up');
      redis.kill('SIGSTOP');
      const started = Date.now();
      const frozen = await verifyCliWith({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER_NODES: '', REDIS_COMMAND_TIMEOUT_MS: '200' });
      expect(frozen.code).toBe(2);
      expect(frozen.out).toMatch(/^Cannot verify: .*Are Redis \(redis:\/\/127\.0\.0\.1:\d+\) and PostgreSQL up\?\n$/);
      // 10 x the 200 ms command timeout and a retry or two, plus starting node: far from a hang.
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      redis.kill('SIGCONT');
      redis.kill('SIGKILL');
    }
  }, 60_000);
});
