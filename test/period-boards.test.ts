/**
 * DAILY, WEEKLY and MONTHLY boards: XP counts in the periods of its event's occurredAt, periods
 * roll over by themselves at their UTC boundaries, a finished period takes late events for the
 * grace window and is then frozen, and the last 12 finished periods stay queryable. The app's
 * clock is moved (never slept on): it runs at real speed from an instant the test picks, near
 * the next Monday 00:00 UTC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodKeyOf, periodOf, shiftPeriod } from '../src/domain/boards/periods';
import { rebuildCache } from '../src/store/rebuild';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

const H = 3_600_000;
const env = newTestEnv();
let t: TestApp;
let service: string;
let offset = 0;
/** The app's clock: real time shifted to the instant a test set. */
const clock = { now: () => Date.now() + offset };
const setNow = (at: number) => {
  offset = at - Date.now();
};

/** The Monday 00:00 UTC that ends this week (real time): the week boundary the tests cross. */
const monday = periodOf(periodKeyOf('WEEKLY', Date.now())).end;
const sunday = periodKeyOf('DAILY', monday - 1);
const week = periodKeyOf('WEEKLY', monday - 1);
const nextWeek = periodKeyOf('WEEKLY', monday);

const ENROLL = 'mutation($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }';
const COMPLETE = 'mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { xpAwarded totalXp } }';
const BOARD = `query($b: BoardInput) { leaderboard(board: $b, first: 20) { board { period courseId periodKey endsAt } totalCount entries { rank score learner { id } } } }`;

async function gqlOk(query: string, variables: Record<string, unknown> = {}, token = service) {
  const res = await t.gql(query, { variables, token });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

/** A board's entries as [learner, score], best first, once the projection has caught up. */
async function board(b: Record<string, unknown>) {
  await t.app.settle();
  const data = await gqlOk(BOARD, { b });
  return { info: data.leaderboard.board, scores: data.leaderboard.entries.map((e: { learner: { id: string }; score: number }) => [e.learner.id, e.score]) };
}

/** A learner event a service backfills: a lesson completed at `occurredAt`. */
async function lateCompletion(id: string, learnerId: string, lessonId: string, occurredAt: number) {
  const data = await gqlOk(
    `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted rejected { code message } } }`,
    { e: [{ id, type: 'LESSON_COMPLETED', learnerId, lessonId, occurredAt: new Date(occurredAt).toISOString() }] },
  );
  expect(data.recordEvents).toEqual({ accepted: 1, rejected: [] });
}

beforeAll(async () => {
  t = await startTestApp(env, { app: { clock } });
  service = await tokenFor('lms', ['service']);
  // Lessons pb-l1..pb-l8 pay 10, 20, ..., 80 XP.
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'pb', modules: 2, lessons: 4, xpOf: (i) => 10 * (i + 1) }));
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'pc', modules: 1, lessons: 4, xpOf: () => 5 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('a weekly board', () => {
  it('rolls over at Monday 00:00 UTC, keeps the finished week readable, takes late events for the grace window only', async () => {
    // Sunday 22:00 UTC, the last day of the week
    setNow(monday - 2 * H);
    for (const l of ['wk-amy', 'wk-bob']) await gqlOk(ENROLL, { l, c: 'pb' });
    await gqlOk(COMPLETE, { l: 'wk-amy', x: 'pb-l1' });
    await gqlOk(COMPLETE, { l: 'wk-bob', x: 'pb-l2' });
    const during = await board({ period: 'WEEKLY' });
    expect(during.info).toEqual({ period: 'WEEKLY', courseId: null, periodKey: week, endsAt: new Date(monday).toISOString() });
    expect(during.scores).toEqual([
      ['wk-bob', 20],
      ['wk-amy', 10],
    ]);

    // Monday 00:00 UTC exactly: a new week, empty; the finished one by its key; all-time unaffected
    setNow(monday);
    const fresh = await board({ period: 'WEEKLY' });
    expect(fresh.info).toMatchObject({ periodKey: nextWeek, endsAt: new Date(monday + 7 * 24 * H).toISOString() });
    expect(fresh.scores).toEqual([]);
    expect((await board({ period: 'WEEKLY', periodKey: week })).scores).toEqual([
      ['wk-bob', 20],
      ['wk-amy', 10],
    ]);
    expect((await board({ period: 'WEEKLY', periodKey: week, courseId: 'pb' })).info).toMatchObject({ periodKey: week, courseId: 'pb', endsAt: new Date(monday).toISOString() });
    expect((await board({})).scores).toEqual([
      ['wk-bob', 20],
      ['wk-amy', 10],
    ]);

    // Monday 01:00: an event of Sunday 23:30 arrives, within the 24 h grace: it counts in the finished week
    setNow(monday + H);
    await lateCompletion('wk-late-1', 'wk-amy', 'pb-l3', monday - 30 * 60_000);
    expect((await board({ period: 'WEEKLY', periodKey: week })).scores).toEqual([
      ['wk-amy', 40],
      ['wk-bob', 20],
    ]);
    expect((await board({ period: 'WEEKLY', periodKey: week, courseId: 'pb' })).scores).toEqual([
      ['wk-amy', 40],
      ['wk-bob', 20],
    ]);
    expect((await board({ period: 'DAILY', periodKey: sunday })).scores).toEqual([
      ['wk-amy', 40],
      ['wk-bob', 20],
    ]);
    expect((await board({ period: 'WEEKLY' })).scores).toEqual([]);

    // Tuesday 00:00, the grace window is over: another Sunday event counts for ALL_TIME only
    setNow(monday + 24 * H);
    await lateCompletion('wk-late-2', 'wk-amy', 'pb-l4', monday - 15 * 60_000);
    expect((await board({ period: 'WEEKLY', periodKey: week })).scores).toEqual([
      ['wk-amy', 40],
      ['wk-bob', 20],
    ]);
    expect((await board({ period: 'DAILY', periodKey: sunday })).scores).toEqual([
      ['wk-amy', 40],
      ['wk-bob', 20],
    ]);
    expect((await board({ period: 'WEEKLY' })).scores).toEqual([]);
    expect((await board({})).scores).toEqual([
      ['wk-amy', 80],
      ['wk-bob', 20],
    ]);

    // The learner's hash keeps only the periods that can still change: an hour after the grace
    // window (the margin for events stamped just inside it), the next award drops the frozen day and week.
    const periodsHeld = async () => Object.keys(JSON.parse((await t.app.redis.hget(t.app.keys.learner('wk-amy'), 'pp')) ?? '{}') as object);
    expect(await periodsHeld()).toEqual(expect.arrayContaining([sunday, week]));
    setNow(monday + 25 * H);
    await gqlOk(COMPLETE, { l: 'wk-amy', x: 'pb-l5' });
    const held = await periodsHeld();
    expect(held).toEqual(expect.arrayContaining([nextWeek, periodKeyOf('DAILY', monday + 25 * H)]));
    expect(held).not.toContain(week);
    expect(held).not.toContain(sunday);
    expect((await board({ period: 'WEEKLY' })).scores).toEqual([['wk-amy', 50]]);
  });

  it('tells a learner overtaken on a weekly course board, and the one who climbed, with their previous and new ranks', async () => {
    // Wednesday 12:00 UTC of the next week
    setNow(monday + 2.5 * 24 * H);
    for (const l of ['rk-lead', 'rk-chase']) await gqlOk(ENROLL, { l, c: 'pb' });
    await gqlOk(COMPLETE, { l: 'rk-lead', x: 'pb-l6' }); // 60
    await gqlOk(COMPLETE, { l: 'rk-chase', x: 'pb-l1' }); // 10
    await t.app.settle();
    const q = 'subscription { rankChanged(board: { period: WEEKLY, courseId: "pb" }) { board { period courseId periodKey } learnerId previousRank rank score } }';
    const lead = await subscribe(t.wsUrl, q, { token: await tokenFor('rk-lead') });
    const chase = await subscribe(t.wsUrl, q, { token: await tokenFor('rk-chase') });
    const boardId = `p:${nextWeek}:c:pb`;
    await eventually(() => t.app.services.feeds.boards.tracking(boardId, 'rk-lead') && t.app.services.feeds.boards.tracking(boardId, 'rk-chase'), 5000, 'both tracked');
    // This week: rk-lead 60, wk-amy 50, rk-chase 10.
    await gqlOk(COMPLETE, { l: 'rk-chase', x: 'pb-l7' }); // 80
    const [overtaken] = await lead.waitFor(1);
    expect(overtaken!.rankChanged).toEqual({ board: { period: 'WEEKLY', courseId: 'pb', periodKey: nextWeek }, learnerId: 'rk-lead', previousRank: 1, rank: 2, score: 60 });
    const [climbed] = await chase.waitFor(1);
    expect(climbed!.rankChanged).toEqual({ board: { period: 'WEEKLY', courseId: 'pb', periodKey: nextWeek }, learnerId: 'rk-chase', previousRank: 3, rank: 1, score: 80 });
    await lead.close();
    await chase.close();
  });

  it('leaderboardChanged without a period key rolls over to the new period by itself', async () => {
    const end = periodOf(periodKeyOf('DAILY', clock.now())).end;
    // 2.5 s before midnight UTC (time to subscribe, even on a busy machine)
    setNow(end - 2500);
    const live = await subscribe(t.wsUrl, 'subscription { leaderboardChanged(board: { period: DAILY }, first: 3) { board { periodKey } totalCount } }');
    const [first] = await live.waitFor(1);
    expect(first!.leaderboardChanged.board.periodKey).toBe(periodKeyOf('DAILY', end - 1));
    const values = await live.waitFor(2, 10_000);
    expect(values[1]!.leaderboardChanged).toEqual({ board: { periodKey: periodKeyOf('DAILY', end) }, totalCount: 0 });
    await live.close();
  });
});

describe('daily and monthly boards', () => {
  it('name their period and its end, by default the current one', async () => {
    // Thursday 10:00 UTC of the next week
    const now = monday + 3 * 24 * H + 10 * H;
    setNow(now);
    await gqlOk(ENROLL, { l: 'dm-cy', c: 'pc' });
    await gqlOk(COMPLETE, { l: 'dm-cy', x: 'pc-l1' });
    const day = periodKeyOf('DAILY', now);
    const month = periodKeyOf('MONTHLY', now);
    const daily = await board({ period: 'DAILY', courseId: 'pc' });
    expect(daily).toEqual({ info: { period: 'DAILY', courseId: 'pc', periodKey: day, endsAt: new Date(periodOf(day).end).toISOString() }, scores: [['dm-cy', 5]] });
    const monthly = await board({ period: 'MONTHLY', courseId: 'pc', periodKey: month });
    expect(monthly).toEqual({ info: { period: 'MONTHLY', courseId: 'pc', periodKey: month, endsAt: new Date(periodOf(month).end).toISOString() }, scores: [['dm-cy', 5]] });
    // me.rank and aroundMe on a period board
    const me = await gqlOk(
      `query { me { rank(board: { period: DAILY, courseId: "pc" }) { rank score } } leaderboard(board: { period: MONTHLY, courseId: "pc" }) { me { rank } aroundMe(radius: 1) { learner { id } } } }`,
      {},
      await tokenFor('dm-cy'),
    );
    expect(me).toEqual({ me: { rank: { rank: 1, score: 5 } }, leaderboard: { me: { rank: 1 }, aroundMe: [{ learner: { id: 'dm-cy' } }] } });
  });

  it('refuses a period key that is malformed, of another kind, not started or on ALL_TIME, and answers NOT_FOUND past the 12 kept', async () => {
    const now = clock.now();
    const day = periodKeyOf('DAILY', now);
    for (const [b, code] of [
      [{ period: 'DAILY', periodKey: 'yesterday' }, 'BAD_USER_INPUT'],
      [{ period: 'DAILY', periodKey: periodKeyOf('WEEKLY', now) }, 'BAD_USER_INPUT'],
      [{ period: 'WEEKLY', periodKey: day }, 'BAD_USER_INPUT'],
      [{ period: 'MONTHLY', periodKey: '2026-13' }, 'BAD_USER_INPUT'],
      [{ period: 'DAILY', periodKey: shiftPeriod(day, 1) }, 'BAD_USER_INPUT'],
      [{ period: 'ALL_TIME', periodKey: day }, 'BAD_USER_INPUT'],
      [{ period: 'DAILY', periodKey: shiftPeriod(day, -13) }, 'NOT_FOUND'],
    ] as const) {
      const res = await t.gql(BOARD, { variables: { b } });
      expect(res.errors?.[0]?.extensions, JSON.stringify(b)).toMatchObject(code === 'BAD_USER_INPUT' ? { code, field: 'board.periodKey' } : { code });
    }
    // The 12th finished period is still there (empty here).
    expect((await board({ period: 'DAILY', periodKey: shiftPeriod(day, -12) })).scores).toEqual([]);
  });
});

describe('period boards in Redis', () => {
  it('expire on their own after their retention', async () => {
    const k = t.app.keys.board(`p:${week}:g`);
    const expiresAt = periodOf(shiftPeriod(week, 12)).end + t.app.config.boardPeriodGraceMs;
    for (const key of [k.z, k.meta]) {
      const at = await t.app.redis.pexpiretime(key);
      expect(at).toBe(expiresAt);
    }
    // All-time boards stay.
    expect(await t.app.redis.pttl(t.app.keys.board('g:all').meta)).toBe(-1);
  });

  it('come back from Postgres with rebuild-cache, learners with their open period scores', async () => {
    await t.app.settle();
    const ids = [`p:${week}:g`, `p:${week}:c:pb`, `p:${sunday}:g`, `p:${nextWeek}:c:pb`, `p:${periodKeyOf('MONTHLY', clock.now())}:c:pc`];
    const before = await Promise.all(ids.map((id) => t.app.boardStore.page(id, 0, 20)));
    const hashBefore = await t.app.redis.hget(t.app.keys.learner('rk-chase'), 'pp');
    expect(hashBefore).not.toBeNull();
    const result = await rebuildCache({
      redis: t.app.redis,
      keys: t.app.keys,
      hot: t.app.hot,
      repo: t.app.learnerRepo,
      boardRepo: t.app.boardRepo,
      boards: t.app.boardStore,
      drain: () => t.app.settle(),
      clock,
    });
    expect(result.boards).toBeGreaterThanOrEqual(2 + ids.length);
    const loads = t.app.boardStore.loads;
    for (const [i, id] of ids.entries()) {
      expect(await t.app.redis.exists(t.app.keys.board(id).z), id).toBe(1);
      expect(await t.app.boardStore.page(id, 0, 20), id).toEqual(before[i]);
    }
    expect(t.app.boardStore.loads).toBe(loads);
    expect(JSON.parse((await t.app.redis.hget(t.app.keys.learner('rk-chase'), 'pp'))!)).toEqual(JSON.parse(hashBefore!));
    // And the next award adds on top of the restored period score.
    await gqlOk(COMPLETE, { l: 'rk-chase', x: 'pb-l8' }); // 80 + 80
    expect((await board({ period: 'WEEKLY', courseId: 'pb' })).scores[0]).toEqual(['rk-chase', 160]);
  });

  it('hydrate a learner Redis lost with their open period scores', async () => {
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner('rk-lead'));
    await gqlOk(COMPLETE, { l: 'rk-lead', x: 'pb-l5' }); // 60 + 50
    expect((await board({ period: 'WEEKLY', courseId: 'pb' })).scores).toEqual([
      ['rk-chase', 160],
      ['rk-lead', 110],
      ['wk-amy', 50],
    ]);
  });

  it('are checked by verify: a tampered period board is reported, then nothing once put right', async () => {
    await t.app.settle();
    const deps = { redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo };
    const clean = await verifyStores(deps, { rechecks: 1, recheckDelayMs: 50 });
    expect(clean.drift).toEqual([]);
    const id = `p:${week}:g`;
    const meta = t.app.keys.board(id).meta;
    const real = await t.app.redis.hget(meta, 's:wk-amy');
    await t.app.redis.hset(meta, 's:wk-amy', 999);
    const report = await verifyStores(deps, { rechecks: 1, recheckDelayMs: 50 });
    expect(report.drift).toEqual([{ learnerId: 'wk-amy', boardId: id, what: `board score 999 vs ${real}` }]);
    await t.app.redis.hset(meta, 's:wk-amy', real!);
  });

  it('are checked by verify in the learner hash too', async () => {
    const deps = { redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo };
    const key = t.app.keys.learner('dm-cy');
    const real = (await t.app.redis.hget(key, 'pp'))!;
    const pp = JSON.parse(real) as Record<string, { g: [number, number] }>;
    const day = periodKeyOf('DAILY', clock.now());
    pp[day]!.g[0] += 1;
    await t.app.redis.hset(key, 'pp', JSON.stringify(pp));
    const report = await verifyStores(deps, { rechecks: 1, recheckDelayMs: 50 });
    expect(report.drift.map((d) => d.what)).toContain(`period ${day}: Redis 6 XP at ${pp[day]!.g[1]}, ledger 5 XP at ${pp[day]!.g[1]}`);
    await t.app.redis.hset(key, 'pp', real);
  });
});
