/**
 * A crash after each step of the write path (the learner script with its badges and push, the
 * board write with its board push, the Postgres write), then a new instance: with nobody
 * acting, boards equal totals (period boards the learners' period scores), each due badge is awarded exactly once and Postgres equals
 * Redis within 5 seconds.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { periodOf } from '../src/domain/boards/periods';
import { boardIdOf } from '../src/domain/boards/rules';
import { decodePeriodScores } from '../src/store/redis/learnerHash';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp, type TestEnv } from './harness';

const FAST = { MEMBER_TTL_MS: '800', OUTBOX_SWEEP_MS: '200' };
const learners = Array.from({ length: 12 }, (_, i) => `fx-${i}`);
const envs: TestEnv[] = [];
const apps: TestApp[] = [];

afterAll(async () => {
  for (const a of apps) await a.stop().catch(() => undefined);
  for (const e of envs) await destroyTestEnv(e);
});

async function start(env: TestEnv, options: Parameters<typeof startTestApp>[1] = {}): Promise<TestApp> {
  const t = await startTestApp(env, { ...options, config: { ...FAST, ...options.config } });
  apps.push(t);
  return t;
}

/** Every learner enrolls, sets a daily goal of 2 lessons and completes three lessons; the second unlocks fx-two (15 XP) and completes the goal (its bonus). */
async function drive(t: TestApp): Promise<void> {
  const service = await tokenFor('lms', ['service']);
  await Promise.all(
    learners.map(async (l, i) => {
      const ok = (r: { errors?: unknown }) => expect(r.errors).toBeUndefined();
      ok(await t.gql('mutation($l: ID) { enroll(courseId: "fx", learnerId: $l) { id } }', { variables: { l }, token: service }));
      ok(await t.gql('mutation($l: ID) { setDailyGoal(kind: LESSONS, target: 2, learnerId: $l) { target } }', { variables: { l }, token: service }));
      for (let n = 1; n <= 3; n += 1) {
        // Different amounts per learner, so boards order them.
        const lesson = `fx-l${((n + i) % 5) + 1}`;
        ok(await t.gql('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { totalXp } }', { variables: { l, x: lesson }, token: service }));
      }
    }),
  );
}

/** What is wrong between Redis (the truth), the boards and Postgres; empty when they agree. */
async function drift(t: TestApp): Promise<string[]> {
  const problems: string[] = [];
  const knex = t.app.orm.em.getKnex();
  const counters = await t.app.learnerStore.counters(learners);
  const global = await t.app.boardStore.ranks('g:all', learners);
  const course = await t.app.boardStore.ranks('c:fx:all', learners);
  for (const [i, l] of learners.entries()) {
    const c = counters[i]!;
    const enrollment = await t.app.learnerStore.enrollment(l, 'fx');
    const badges = await t.app.learnerStore.badges(l);
    if (c.totalXp <= 0) problems.push(`${l}: no XP`);
    if (global[i]?.score !== c.totalXp) problems.push(`${l}: global board ${global[i]?.score} vs total ${c.totalXp}`);
    if (course[i]?.score !== enrollment?.xpEarned) problems.push(`${l}: course board ${course[i]?.score} vs course XP ${enrollment?.xpEarned}`);
    // Each period board (day, week, month; global and course) holds the learner's score in that period.
    const periods = decodePeriodScores((await t.app.hot.raw(l))?.pp);
    if (periods.size === 0) problems.push(`${l}: no period scores`);
    for (const [periodKey, s] of periods) {
      const period = periodOf(periodKey).kind;
      const [g] = await t.app.boardStore.ranks(boardIdOf({ period, courseId: null, periodKey }), [l]);
      const [c] = await t.app.boardStore.ranks(boardIdOf({ period, courseId: 'fx', periodKey }), [l]);
      if (g?.score !== s.global.xp) problems.push(`${l}: ${periodKey} board ${g?.score} vs ${s.global.xp}`);
      if (c?.score !== s.courses.get('fx')?.xp) problems.push(`${l}: ${periodKey} course board ${c?.score} vs ${s.courses.get('fx')?.xp}`);
    }
    if (!badges.has('fx-two')) problems.push(`${l}: badge missing in Redis`);
    const row = await knex('learners').where({ id: l }).first();
    if (Number(row?.total_xp) !== c.totalXp) problems.push(`${l}: postgres total ${row?.total_xp} vs ${c.totalXp}`);
    if ((await t.app.learnerRepo.ledgerTotal(l)) !== c.totalXp) problems.push(`${l}: ledger sum vs total`);
    const awards = await knex('badge_awards').where({ learner_id: l });
    const paid = await knex('xp_transactions').where({ learner_id: l, reason: 'badge_unlocked' });
    if (awards.length !== 1 || paid.length !== 1) problems.push(`${l}: badge awarded ${awards.length} times, paid ${paid.length} times`);
    // The goal completed once in Redis, once in Postgres, paid once.
    const hash = (await t.app.hot.raw(l)) ?? {};
    if (hash.gc !== '1') problems.push(`${l}: Redis goals completed ${hash.gc}`);
    const goalRows = await knex('daily_goals').where({ learner_id: l });
    // (One row, or two when the drive straddles midnight UTC: the goal completes on one of them.)
    if (goalRows.filter((g) => (g.done & 2) === 2).length !== 1 || goalRows.reduce((n, g) => n + g.lessons, 0) !== 3) problems.push(`${l}: daily_goals ${JSON.stringify(goalRows)}`);
    const bonus = await knex('xp_transactions').where({ learner_id: l, reason: 'goal_completed' });
    if (bonus.length !== 1) problems.push(`${l}: goal bonus paid ${bonus.length} times`);
    const progress = await knex('lesson_progress').where({ learner_id: l });
    if (progress.length !== c.lessonsCompleted || c.lessonsCompleted !== 3) problems.push(`${l}: ${progress.length} progress rows, ${c.lessonsCompleted} lessons`);
  }
  return problems;
}

/** Start a fresh instance on the env and wait, with no request, until nothing drifts. @returns ms taken */
async function recover(env: TestEnv): Promise<{ t: TestApp; ms: number }> {
  const started = Date.now();
  const t = await start(env);
  let last: string[] = [];
  await eventually(async () => (last = await drift(t)).length === 0, 5000, `convergence (${last.slice(0, 3).join('; ')})`).catch((err) => {
    throw new Error(`${(err as Error).message}; still: ${last.join('; ')}`);
  });
  return { t, ms: Date.now() - started };
}

async function setUp(t: TestApp): Promise<void> {
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'fx', modules: 1, lessons: 5, xpOf: (i) => 10 * (i + 1) }));
  await t.app.services.catalog.upsertBadge({ id: 'fx-two', name: 'Two', criteria: { type: 'lessons_completed', value: 2 }, xpReward: 15 });
}

describe('a crash, then a new instance, with nobody acting', () => {
  it('after the learner step (XP, badges and push done; no board, no Postgres): converges within 5 s', async () => {
    const env = newTestEnv();
    envs.push(env);
    const a = await start(env, { config: { FLUSHER: 'false', PROJECTOR: 'false' } });
    await setUp(a);
    await drive(a);
    expect((await drift(a)).length).toBeGreaterThan(0);
    await a.app.crash();
    const { ms } = await recover(env);
    expect(ms).toBeLessThan(5000);
  });

  it('after a board write and its push, before the projection acknowledged it: converges within 5 s', async () => {
    const env = newTestEnv();
    envs.push(env);
    let hit = 0;
    const a: TestApp = await start(env, {
      config: { FLUSHER: 'false' },
      app: {
        projector: {
          afterHandle: () => {
            hit += 1;
            a.app.projector.kill();
          },
        },
      },
    });
    await setUp(a);
    await drive(a);
    await eventually(() => hit > 0, 5000, 'the first board write');
    await a.app.crash();
    await recover(env);
  });

  it('after a Postgres commit, before the writer acknowledged it: converges within 5 s and writes nothing twice', async () => {
    const env = newTestEnv();
    envs.push(env);
    let hit = 0;
    const a: TestApp = await start(env, {
      app: {
        flusher: {
          afterHandle: () => {
            hit += 1;
            a.app.flusher.kill();
          },
        },
      },
    });
    await setUp(a);
    await drive(a);
    await eventually(() => hit > 0, 5000, 'the first commit');
    await a.app.crash();
    const { t } = await recover(env);
    // The replayed batch wrote nothing twice (drift checks each award once); the event log agrees too.
    const events = await t.app.orm.em.getKnex()('learner_events').whereIn('learner_id', learners).count('* as n');
    expect(Number((events[0] as { n: string }).n)).toBe(learners.length * 5);
  });
});
