import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriberCounts } from '../src/store/redis/client';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

// Two servers on different ports sharing one Redis and one Postgres.
const env = newTestEnv();
let a: TestApp;
let b: TestApp;
let admin: string;
let service: string;

const COMPLETE = 'mutation($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }';
const ENROLL = 'mutation($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }';

async function complete(app: TestApp, learner: string, lesson: string) {
  const res = await app.gql(COMPLETE, { variables: { l: learner, lesson }, token: service });
  expect(res.errors).toBeUndefined();
  return res.data!.completeLesson.totalXp as number;
}

beforeAll(async () => {
  a = await startTestApp(env);
  b = await startTestApp(env);
  admin = await tokenFor('admin', ['admin']);
  service = await tokenFor('lms', ['service']);
  const course = makeCourse({ id: 'live', modules: 4, lessons: 10, xp: 10 });
  expect((await a.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin })).errors).toBeUndefined();
  expect(
    (await a.gql('mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }', {
      variables: { i: { id: 'live-first', name: 'First!', criteria: { type: 'lessons_completed', value: 1 }, xpReward: 5 } },
      token: admin,
    })).errors,
  ).toBeUndefined();
  // B learns about the catalog change through pub/sub, without a restart.
  await eventually(() => b.app.services.catalog.get().badge('live-first'), 5000, 'B to reload the catalog');
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await destroyTestEnv(env);
});

describe('across two instances', () => {
  it('pushes achievementUnlocked and rankChanged on B for a mutation sent to A', async () => {
    const token = await tokenFor('sub-amy');
    const achievements = await subscribe(b.wsUrl, 'subscription { achievementUnlocked { badge { id name } learnerId awardedAt } }', { token });
    const ranks = await subscribe(b.wsUrl, 'subscription { rankChanged { board { period courseId } learnerId previousRank rank score } }', { token });
    // graphql-ws does not acknowledge a subscribe; wait until B has set both up.
    await eventually(() => b.app.services.feeds.learner.listening('sub-amy') && b.app.services.feeds.boards.tracking('g:all', 'sub-amy'), 5000, 'B to subscribe');

    await a.gql(ENROLL, { variables: { l: 'sub-amy', c: 'live' }, token: service });
    await complete(a, 'sub-amy', 'live-l1');

    const [award] = await achievements.waitFor(1);
    expect(award!.achievementUnlocked).toMatchObject({ badge: { id: 'live-first', name: 'First!' }, learnerId: 'sub-amy' });
    const [move] = await ranks.waitFor(1);
    expect(move!.rankChanged).toEqual({ board: { period: 'ALL_TIME', courseId: null }, learnerId: 'sub-amy', previousRank: null, rank: 1, score: 15 });
    await achievements.close();
    await ranks.close();
  });

  it('lets go of the learner feed as soon as an achievementUnlocked client leaves, with no message after', async () => {
    const sub = await subscribe(b.wsUrl, 'subscription { achievementUnlocked { badge { id } } }', { token: await tokenFor('sub-quiet') });
    await eventually(() => b.app.services.feeds.learner.listening('sub-quiet'), 5000, 'B to subscribe');
    await sub.close();
    // sub-quiet never acts again: the feed must not wait for its next message to end.
    await eventually(() => !b.app.services.feeds.learner.listening('sub-quiet'), 5000, 'the feed to let go');
  });

  it('tells a subscribed learner who was overtaken, and the one who climbed', async () => {
    for (const l of ['sub-lead', 'sub-chase']) await a.gql(ENROLL, { variables: { l, c: 'live' }, token: service });
    // sub-lead: 4 lessons (40) + badge (5) = 45; sub-chase: 1 lesson + badge = 15. Course board: 40 vs 10.
    for (const n of [2, 3, 4, 5]) await complete(a, 'sub-lead', `live-l${n}`);
    await complete(a, 'sub-chase', 'live-l1');
    // Boards follow the outbox within milliseconds: let these moves land before reading positions.
    await a.app.settle();

    const lead = await subscribe(b.wsUrl, 'subscription { rankChanged(board: { courseId: "live" }) { learnerId previousRank rank score } }', { token: await tokenFor('sub-lead') });
    const chase = await subscribe(b.wsUrl, 'subscription { rankChanged(board: { courseId: "live" }) { learnerId previousRank rank score } }', { token: await tokenFor('sub-chase') });
    await eventually(
      () => b.app.services.feeds.boards.tracking('c:live:all', 'sub-lead') && b.app.services.feeds.boards.tracking('c:live:all', 'sub-chase'),
      5000,
      'B to track both',
    );
    const leadBefore = (await b.gql('{ me { rank(board: { courseId: "live" }) { rank } } }', { token: await tokenFor('sub-lead') })).data!.me.rank.rank as number;
    const chaseBefore = (await b.gql('{ me { rank(board: { courseId: "live" }) { rank } } }', { token: await tokenFor('sub-chase') })).data!.me.rank.rank as number;
    expect(chaseBefore).toBeGreaterThan(leadBefore);

    // sub-chase climbs past sub-lead with 4 more lessons (50 > 40) through instance A.
    for (const n of [2, 3, 4, 5]) await complete(a, 'sub-chase', `live-l${n}`);
    expect(await complete(a, 'sub-chase', 'live-l6')).toBeGreaterThan(0);

    const [overtaken] = await lead.waitFor(1);
    expect(overtaken!.rankChanged).toEqual({ learnerId: 'sub-lead', previousRank: leadBefore, rank: leadBefore + 1, score: 40 });
    const climbs = await chase.waitFor(1);
    const last = await eventually(() => climbs.find((m) => m.rankChanged.rank === leadBefore), 5000, 'the climb past sub-lead');
    expect(last.rankChanged).toMatchObject({ learnerId: 'sub-chase', rank: leadBefore });
    // Everything the feed said agrees with the board now.
    const leadNow = (await a.gql('{ me { rank(board: { courseId: "live" }) { rank } } }', { token: await tokenFor('sub-lead') })).data!.me.rank.rank;
    expect(lead.values.at(-1)!.rankChanged.rank).toBe(leadNow);
    await lead.close();
    await chase.close();
  });

  it('sends leaderboardChanged at once, then coalesced to at most 4 a second, ending at the true top', async () => {
    const live = await subscribe(b.wsUrl, 'subscription { leaderboardChanged(board: { courseId: "live" }, first: 3) { totalCount entries { rank score learner { id } } } }');
    await live.waitFor(1);
    const startedAt = Date.now();
    const learners = Array.from({ length: 6 }, (_, i) => `sub-burst-${i}`);
    await Promise.all(learners.map((l) => a.gql(ENROLL, { variables: { l, c: 'live' }, token: service })));
    // 36 completions spread over about 1.5 s: without coalescing nearly each would be a message.
    for (let n = 1; n <= 6; n += 1) {
      for (const l of learners) {
        await complete(a, l, `live-l${n}`);
        await new Promise((r) => setTimeout(r, 40));
      }
    }
    const elapsed = Date.now() - startedAt;
    const truth = (await a.gql('{ leaderboard(board: { courseId: "live" }, first: 3) { totalCount entries { rank score learner { id } } } }')).data!.leaderboard;
    await eventually(() => JSON.stringify(live.values.at(-1)!.leaderboardChanged) === JSON.stringify(truth), 5000, 'the feed to reach the true top');
    const updates = live.values.length - 1;
    expect(elapsed).toBeGreaterThan(1400);
    // At most 4 a second: no two updates closer than the 250 ms window (a little slack for timers).
    const gaps = live.times.slice(2).map((t, i) => t - live.times[i + 1]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(200);
    expect(updates).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
    expect(updates).toBeGreaterThan(1);
    await live.close();
  });

  it('holds one Redis subscription per topic per instance, however many clients listen', async () => {
    const token = await tokenFor('sub-amy');
    const many = await Promise.all(Array.from({ length: 5 }, () => subscribe(b.wsUrl, 'subscription { achievementUnlocked { learnerId } }', { token })));
    const channels = ['learner', 'board', 'catalog'].map((topic) => a.app.keys.channel(topic as 'learner'));
    // Summed over every master: on a cluster each SUBSCRIBE lives on one node.
    const counts = await subscriberCounts(a.app.redis, channels);
    expect(channels.map((c) => counts.get(c))).toEqual([2, 2, 2]);
    await Promise.all(many.map((s) => s.close()));
  });
});
