import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEntries } from '../src/store/outbox/postgres/write';
import { deleteMatching } from '../src/store/redis/client';
import { destroyTestEnv, makeCourse, newTestEnv, outboxEntries, redisEnvOf, startTestApp, TEST_SECRET, tokenFor, type TestApp } from './harness';

const run = promisify(execFile);
const env = newTestEnv();
let t: TestApp;
let service: string;

const ME = `query {
  me {
    id totalXp
    level { level name minXp nextLevelXp progress }
    enrollments { id course { id } enrolledAt xpEarned progress { completedLessons percentage } }
    badges { badge { id } awardedAt }
    rank { rank score }
    courseRank: rank(board: { courseId: "hyd" }) { rank score }
    xpHistory(first: 50) { edges { node { id amount reason sourceId occurredAt } } }
  }
}`;
const BOARD = `{ leaderboard(first: 50) { totalCount entries { rank score learner { id totalXp } } } }`;

const learners = ['hy-ana', 'hy-ben', 'hy-cem', 'hy-dan'];

async function snapshot() {
  const out: Record<string, unknown> = {};
  for (const l of learners) {
    const res = await t.gql(ME, { token: await tokenFor(l) });
    expect(res.errors).toBeUndefined();
    out[l] = res.data!.me;
  }
  out.board = (await t.gql(BOARD)).data!.leaderboard;
  return out;
}

/** Lose everything this test env keeps in Redis, as a FLUSHALL or a restart without persistence would. */
async function loseRedis() {
  await deleteMatching(t.app.redis, `${env.keyPrefix}*`);
}

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'hyd', modules: 2, lessons: 3, xpOf: (i) => 40 + i * 10 }));
  await t.app.services.catalog.upsertBadge({ id: 'hyd-two', name: 'Two down', criteria: { type: 'lessons_completed', value: 2 }, xpReward: 5 });
  // Different amounts of progress, so ranks differ.
  for (const [i, l] of learners.entries()) {
    await t.gql(`mutation($l: ID) { enroll(courseId: "hyd", learnerId: $l) { id } }`, { variables: { l }, token: service });
    for (let n = 1; n <= i + 1; n += 1) {
      const res = await t.gql(`mutation($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }`, {
        variables: { l, lesson: `hyd-l${n}` },
        token: service,
      });
      expect(res.errors).toBeUndefined();
    }
  }
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('Redis lost after a drain', () => {
  it('answers me and the boards exactly as before, hydrating each learner once even under concurrent requests', async () => {
    await t.app.settle();
    const before = await snapshot();

    await loseRedis();
    const hydrationsBefore = t.app.learnerStore.hydrations;
    const token = await tokenFor('hy-dan');
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => t.gql(ME, { token })));
    for (const r of concurrent) expect(r.data!.me).toEqual(before['hy-dan']);
    expect(t.app.learnerStore.hydrations - hydrationsBefore).toBe(1);

    const after = await snapshot();
    expect(after).toEqual(before);
    expect((before['hy-dan'] as { rank: { rank: number } }).rank.rank).toBe(1);
  });

  it('carries on from the hydrated state: no double pay, new XP on top', async () => {
    await t.app.settle();
    await loseRedis();
    const repeat = await t.gql(`mutation { completeLesson(lessonId: "hyd-l1", learnerId: "hy-ana") { xpAwarded } }`, { token: service });
    expect(repeat.errors![0]!.extensions!.code).toBe('ALREADY_COMPLETED');
    const next = await t.gql(`mutation { completeLesson(lessonId: "hyd-l6", learnerId: "hy-ana") { xpAwarded totalXp } }`, { token: service });
    expect(next.errors).toBeUndefined();
    // hy-ana had lesson 1 (40 XP); lesson 6 pays 90; the badge needs two lessons and pays 5.
    expect(next.data!.completeLesson).toEqual({ xpAwarded: 90, totalXp: 135 });
    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal('hy-ana')).toBe(135);
    const board = await t.gql(`{ leaderboard(board: { courseId: "hyd" }, first: 10) { entries { score learner { id } } } }`);
    expect(board.data!.leaderboard.entries.find((e: { learner: { id: string } }) => e.learner.id === 'hy-ana').score).toBe(130);
  });
});

describe('rebuild-cache', () => {
  const cliEnv = () => ({
    ...process.env,
    ...redisEnvOf(env),
    DATABASE_URL: env.databaseUrl,
    KEY_PREFIX: env.keyPrefix,
    PARTITIONS: '16',
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
  });

  it('refuses to run while a server is up, saying which', async () => {
    const failed = await run('npx', ['tsx', 'src/cli/rebuild-cache.ts'], { env: cliEnv(), timeout: 60_000 }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`1 server is running against this Redis (${t.app.membership.name})`);
  });

  it('restores every learner and board from Postgres (--force: the server here is idle)', async () => {
    await t.app.settle();
    const before = await snapshot();
    await loseRedis();

    const { stdout, stderr } = await run('npx', ['tsx', 'src/cli/rebuild-cache.ts', '--force'], { env: cliEnv(), timeout: 60_000 });
    // The all-time boards and the period boards (day, week, month; global and course) of today's XP.
    expect(Number(/Rebuilt 4 learners and (\d+) boards/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(8);
    expect(stderr).toMatch(/boards/);

    // The boards are back before anyone asks for them: nothing needs loading on demand.
    const loadsBefore = t.app.boardStore.loads;
    expect(await t.app.redis.zcard(t.app.keys.board('g:all').z)).toBe(4);
    expect(await t.app.redis.zcard(t.app.keys.board('c:hyd:all').z)).toBe(4);
    for (const l of learners) expect(await t.app.redis.exists(t.app.keys.learner(l))).toBe(1);
    expect(await snapshot()).toEqual(before);
    expect(t.app.boardStore.loads).toBe(loadsBefore);
  });
});

describe('a learner evicted while their outbox entries wait', () => {
  it('writes the partition behind before hydrating, so nothing the learner did goes missing', async () => {
    const env2 = newTestEnv();
    // No background flusher, so the entries are still in the outbox when the hash goes.
    const t2 = await startTestApp(env2, { config: { FLUSHER: 'false' }, app: { flushBeforeHydrate: true } });
    try {
      await t2.app.services.catalog.upsertCourse(makeCourse({ id: 'ev', modules: 1, lessons: 3, xp: 20 }));
      const token = await tokenFor('ev-amy');
      await t2.gql('mutation { enroll(courseId: "ev") { id } }', { token });
      for (const l of ['ev-l1', 'ev-l2']) await t2.gql(`mutation { completeLesson(lessonId: "${l}") { totalXp } }`, { token });
      expect(await t2.app.learnerRepo.ledgerTotal('ev-amy')).toBe(0);

      // Evict only the learner's hash, as an evicting maxmemory-policy could.
      await t2.app.redis.del(t2.app.keys.learner('ev-amy'));
      const me = await t2.gql('{ me { totalXp enrollment(courseId: "ev") { xpEarned progress { completedLessons } } } }', { token });
      expect(me.data!.me).toEqual({ totalXp: 40, enrollment: { xpEarned: 40, progress: { completedLessons: 2 } } });
      expect(await t2.app.learnerRepo.ledgerTotal('ev-amy')).toBe(40);
      const again = await t2.gql('mutation { completeLesson(lessonId: "ev-l2") { totalXp } }', { token });
      expect(again.errors![0]!.extensions!.code).toBe('ALREADY_COMPLETED');
    } finally {
      await t2.stop();
      await destroyTestEnv(env2);
    }
  });
});

describe('hydration while a batch commits', () => {
  it('reads one snapshot: never a lesson without its XP, nor XP without its lesson', async () => {
    const env3 = newTestEnv();
    const t3 = await startTestApp(env3, { config: { FLUSHER: 'false', PROJECTOR: 'false' } });
    try {
      await t3.app.services.catalog.upsertCourse(makeCourse({ id: 'hc', modules: 4, lessons: 50, xp: 10 }));
      await t3.app.services.progress.enroll('hc-amy', 'hc');
      for (let i = 1; i <= 200; i += 1) await t3.app.services.progress.completeLesson('hc-amy', `hc-l${i}`);
      const entries = await outboxEntries(t3.app);
      expect(entries).toHaveLength(201);
      const knex = t3.app.orm.em.getKnex();
      let writing = true;
      const writer = (async () => {
        for (let i = 0; i < entries.length; i += 5) await writeEntries(knex, entries.slice(i, i + 5), 10_000);
        writing = false;
      })();
      let reads = 0;
      let partial = 0;
      while (writing) {
        const state = await t3.app.learnerRepo.load('hc-amy');
        if (!state) continue;
        reads += 1;
        const lessons = state.lessons.size;
        if (lessons > 0 && lessons < 200) partial += 1;
        const e = state.enrollments.get('hc')!;
        expect({ xp: state.totalXp, counted: state.lessonsCompleted, inCourse: e.lessonsCompleted, courseXp: e.xpEarned }).toEqual({
          xp: 10 * lessons,
          counted: lessons,
          inCourse: lessons,
          courseXp: 10 * lessons,
        });
      }
      await writer;
      // The reads did land between commits.
      expect(partial).toBeGreaterThan(5);
      expect(reads).toBeGreaterThan(partial - 1);
    } finally {
      await t3.stop();
      await destroyTestEnv(env3);
    }
  });
});
