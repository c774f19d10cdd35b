import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "wc": 2 modules of 3 lessons, 50 XP each, 300 s each (a video completes at 270 s),
// kinds VIDEO, READING, CHALLENGE in turn; l4 is a VIDEO without a duration (4 h bound, never
// completes by watching); one quiz per module (pass at 70, 40 XP).
const [L1, L2, L3, L4] = ['wc-l1', 'wc-l2', 'wc-l3', 'wc-l4'];
const WATCH = `mutation($l: ID!, $s: Int!, $who: ID, $id: ID) {
  recordWatchTime(lessonId: $l, seconds: $s, learnerId: $who, eventId: $id) {
    lessonId watchTimeSeconds completed
    completion { lessonId xpAwarded totalXp level leveledUp badgesUnlocked { badge { id } } enrollment { xpEarned progress { completedLessons watchTimeSeconds } } }
  }
}`;
const COMPLETE = 'mutation($l: ID!, $who: ID) { completeLesson(lessonId: $l, learnerId: $who) { xpAwarded } }';
const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }`;
const PROGRESS = `query($f: LessonProgressFilter, $first: Int, $after: String) {
  me { lessonProgress(filter: $f, first: $first, after: $after) {
    totalCount edges { cursor node { lessonId courseId completed completedAt watchTimeSeconds updatedAt } } pageInfo { hasNextPage endCursor }
  } }
}`;

async function enroll(learnerId: string, courseId = 'wc') {
  const res = await t.gql('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { c: courseId, l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

const watch = (learnerId: string, lessonId: string, seconds: number, eventId?: string) =>
  t.gql(WATCH, { variables: { l: lessonId, s: seconds, who: learnerId, id: eventId }, token: service });

/** The learner's watch and completion fields in Redis. */
async function watchFields(learnerId: string): Promise<Record<string, string>> {
  const h = await t.app.redis.hgetall(t.app.keys.learner(learnerId));
  return Object.fromEntries(Object.entries(h).filter(([k]) => /^(wu?:|cw:|wt$|vc$|l:|lc$|cc:|xp$|ex:)/.test(k)));
}

const verify = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  const wc = makeCourse({ id: 'wc', modules: 2, lessons: 3, quizzes: 1, xp: 50 });
  wc.modules[1]!.lessons[0]!.durationSeconds = null;
  await t.app.services.catalog.upsertCourse(wc);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'wo', modules: 1, lessons: 1 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('recordWatchTime', () => {
  it('completes a video once when two concurrent calls cross 90% of it, paying its XP once', async () => {
    const id = 'w-ana';
    await enroll(id);
    const [a, b] = await Promise.all([watch(id, L1, 140), watch(id, L1, 140)]);
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    const got = [a.data!.recordWatchTime, b.data!.recordWatchTime].sort((x, y) => x.watchTimeSeconds - y.watchTimeSeconds);
    expect(got.map((w) => [w.watchTimeSeconds, w.completed, w.completion?.xpAwarded ?? null])).toEqual([
      [140, false, null],
      [280, true, 50],
    ]);
    expect(got[1].completion).toMatchObject({ lessonId: L1, totalXp: 50, enrollment: { xpEarned: 50, progress: { completedLessons: 1, watchTimeSeconds: 280 } } });

    // Watching it again adds watch time and pays nothing; completeLesson is ALREADY_COMPLETED.
    const again = await watch(id, L1, 100);
    expect(again.data!.recordWatchTime).toEqual({ lessonId: L1, watchTimeSeconds: 380, completed: true, completion: null });
    const explicit = await t.gql(COMPLETE, { variables: { l: L1, who: id }, token: service });
    expect(explicit.errors![0]!.extensions!.code).toBe('ALREADY_COMPLETED');
    expect(await watchFields(id)).toMatchObject({ 'w:wc-l1': '380', 'cw:wc': '380', wt: '380', vc: '1', lc: '1', xp: '50' });

    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal(id)).toBe(50);
    const knex = t.app.orm.em.getKnex();
    expect(await knex('lesson_progress').where({ learner_id: id }).select('lesson_id', 'watch_time_seconds', 'video', knex.raw('completed_at is not null as completed'))).toEqual([
      { lesson_id: L1, watch_time_seconds: '380', video: true, completed: true },
    ]);
    expect(await knex('enrollments').where({ learner_id: id }).first()).toMatchObject({ watch_seconds: '380', xp_earned: '50' });
    const me = await t.gql('{ me { enrollment(courseId: "wc") { progress { watchTimeSeconds completedLessons } } } }', { token: await tokenFor(id) });
    expect(me.data!.me.enrollment.progress).toEqual({ watchTimeSeconds: 380, completedLessons: 1 });
  });

  it('pays once whichever comes first: a video completed explicitly does not complete again by watching', async () => {
    const id = 'w-ben';
    await enroll(id);
    expect((await t.gql(COMPLETE, { variables: { l: L1, who: id }, token: service })).data!.completeLesson.xpAwarded).toBe(50);
    expect((await watch(id, L1, 300)).data!.recordWatchTime).toEqual({ lessonId: L1, watchTimeSeconds: 300, completed: true, completion: null });
    expect(await watchFields(id)).toMatchObject({ xp: '50', lc: '1', vc: '1', wt: '300' });
  });

  it('refuses seconds 0, -1, above the lesson bound and 1.5 with BAD_USER_INPUT, changing nothing', async () => {
    const id = 'w-cem';
    await enroll(id);
    await watch(id, L1, 10);
    const before = await watchFields(id);
    // The learner's version moves with every applied event (the outbox itself is trimmed as it is read).
    const versionBefore = await t.app.redis.hget(t.app.keys.learner(id), 'v');
    for (const seconds of [0, -1, 301]) {
      const res = await watch(id, L1, seconds);
      expect(res.errors![0]!.extensions, String(seconds)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seconds' });
    }
    // Without a duration the bound is 4 hours.
    expect((await watch(id, L4, 14_401)).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'seconds' });
    const fractional = await t.gql(WATCH, { variables: { l: L1, s: 1.5, who: id }, token: service });
    expect(fractional.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 's' });
    expect(await watchFields(id)).toEqual(before);
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'v')).toBe(versionBefore);
  });

  it('never completes a READING lesson or a video without a duration by watching; NOT_ENROLLED and NOT_FOUND as they apply', async () => {
    const id = 'w-dan';
    await enroll(id);
    expect((await watch(id, L2, 300)).data!.recordWatchTime).toEqual({ lessonId: L2, watchTimeSeconds: 300, completed: false, completion: null });
    expect((await watch(id, L4, 14_400)).data!.recordWatchTime).toMatchObject({ watchTimeSeconds: 14_400, completed: false });
    expect(await watchFields(id)).toMatchObject({ wt: '14700', 'cw:wc': '14700' });
    expect((await watchFields(id))['l:wc-l2']).toBeUndefined();
    expect((await watch(id, 'wo-l1', 10)).errors![0]!.extensions!.code).toBe('NOT_ENROLLED');
    expect((await watch(id, 'no-such-lesson', 10)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });

  it('answers a repeat of the same eventId with the first result', async () => {
    const id = 'w-eve';
    await enroll(id);
    const first = await watch(id, L1, 280, 'watch-1');
    const again = await watch(id, L1, 280, 'watch-1');
    expect(first.data!.recordWatchTime.completion.xpAwarded).toBe(50);
    expect(again.data).toEqual(first.data);
    expect(await watchFields(id)).toMatchObject({ 'w:wc-l1': '280', xp: '50' });
  });
});

describe('recordEvents with VIDEO_PROGRESS and VIDEO_COMPLETED', () => {
  it('equals the same events applied one call each, duplicates and rejections included', async () => {
    const [bulk, single] = ['w-bulk', 'w-single'];
    await enroll(bulk);
    await enroll(single);
    const at = new Date(Date.now() - 60_000).toISOString();
    const events = [
      { id: 'e1', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L1, watchedSeconds: 100 },
      { id: 'e2', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L1 },
      { id: 'e3', type: 'VIDEO_COMPLETED', occurredAt: at },
      { id: 'e4', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: 'wc-m1-q1', score: 80 },
      { id: 'e1', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L1, watchedSeconds: 100 },
      { id: 'e5', type: 'VIDEO_COMPLETED', occurredAt: at, lessonId: L1 },
      { id: 'e6', type: 'LESSON_COMPLETED', occurredAt: at, lessonId: L1 },
      { id: 'e7', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L2, watchedSeconds: 301 },
      { id: 'e8', type: 'VIDEO_COMPLETED', occurredAt: at, lessonId: L4 },
      { id: 'e9', type: 'LESSON_COMPLETED', occurredAt: at, lessonId: L3 },
      { id: 'e10', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: 'no-such-lesson', watchedSeconds: 10 },
      { id: 'e11', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L4, watchedSeconds: 1000 },
      { id: 'e5', type: 'VIDEO_COMPLETED', occurredAt: at, lessonId: L1 },
      { id: 'e12', type: 'VIDEO_COMPLETED', occurredAt: at, lessonId: L1 },
      { id: 'e13', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: 'wo-l1', watchedSeconds: 10 },
      { id: 'e14', type: 'VIDEO_PROGRESS', occurredAt: at, lessonId: L2, watchedSeconds: 0 },
    ];
    const res = await t.gql(RECORD, { variables: { e: events.map((e) => ({ ...e, learnerId: bulk })) }, token: service });
    expect(res.errors).toBeUndefined();
    const got = res.data!.recordEvents;
    expect({ accepted: got.accepted, duplicates: got.duplicates }).toEqual({ accepted: 6, duplicates: 2 });
    const rejected = got.rejected.map((r: { index: number; code: string }) => [r.index, r.code]);
    expect(rejected).toEqual([
      [1, 'BAD_USER_INPUT'],
      [2, 'BAD_USER_INPUT'],
      [6, 'ALREADY_COMPLETED'],
      [7, 'BAD_USER_INPUT'],
      [8, 'BAD_USER_INPUT'],
      [10, 'NOT_FOUND'],
      [14, 'NOT_ENROLLED'],
      [15, 'BAD_USER_INPUT'],
    ]);
    expect(got.rejected[0].message).toContain('events.1.watchedSeconds');
    expect(got.rejected[1].message).toContain('events.2.lessonId');
    expect(got.rejected[3].message).toContain('events.7.watchedSeconds');
    expect(got.rejected[4].message).toMatch(/events\.8\.lessonId.*no duration/);

    // The same events, one recordEvents call each, for another learner.
    const one = { accepted: 0, duplicates: 0, rejected: [] as [number, string][] };
    for (const [index, e] of events.entries()) {
      const r = await t.gql(RECORD, { variables: { e: [{ ...e, learnerId: single }] }, token: service });
      expect(r.errors).toBeUndefined();
      one.accepted += r.data!.recordEvents.accepted;
      one.duplicates += r.data!.recordEvents.duplicates;
      for (const x of r.data!.recordEvents.rejected) one.rejected.push([index, x.code]);
    }
    expect(one).toEqual({ accepted: 6, duplicates: 2, rejected });

    const stateOf = async (l: string) => {
      const me = await t.gql(`{ me { totalXp enrollment(courseId: "wc") { xpEarned progress { watchTimeSeconds completedLessons passedQuizzes } } } }`, { token: await tokenFor(l) });
      const lessons = await t.gql(PROGRESS, { token: await tokenFor(l) });
      expect(me.errors).toBeUndefined();
      // Lessons never touched show their enrollment's time, which differs between the two learners.
      const nodes = lessons.data!.me.lessonProgress.edges.map(({ node }: { node: { completed: boolean; watchTimeSeconds: number; updatedAt: string } }) =>
        node.completed || node.watchTimeSeconds > 0 ? node : { ...node, updatedAt: 'enrolledAt' },
      );
      return { me: me.data!.me, lessons: nodes, fields: await watchFields(l) };
    };
    const [a, b] = [await stateOf(bulk), await stateOf(single)];
    expect(a).toEqual(b);
    // 100 + 200 (the rest of l1), 0 once complete, 1000 of l4: l1 completed by watching, l3 explicitly.
    expect(a.me).toEqual({ totalXp: 140, enrollment: { xpEarned: 140, progress: { watchTimeSeconds: 1300, completedLessons: 2, passedQuizzes: 1 } } });
    expect(a.fields).toMatchObject({ 'w:wc-l1': '300', 'w:wc-l4': '1000', wt: '1300', vc: '1', lc: '2' });
  });
});

describe('me.lessonProgress', () => {
  it('lists the lessons of the enrolled courses in order, filtered, counted and paged with cursors', async () => {
    const id = 'w-fay';
    await enroll(id);
    await enroll(id, 'wo');
    await watch(id, L1, 100);
    await watch(id, L2, 280);
    expect((await t.gql(COMPLETE, { variables: { l: L3, who: id }, token: service })).errors).toBeUndefined();
    await watch(id, L3, 5);
    const token = await tokenFor(id);
    const page = async (variables: Record<string, unknown>) => {
      const r = await t.gql(PROGRESS, { token, variables });
      expect(r.errors).toBeUndefined();
      return r.data!.me.lessonProgress;
    };
    const all = await page({ first: 100 });
    expect(all.totalCount).toBe(7);
    expect(all.edges.map((e: { node: { lessonId: string } }) => e.node.lessonId)).toEqual(['wc-l1', 'wc-l2', 'wc-l3', 'wc-l4', 'wc-l5', 'wc-l6', 'wo-l1']);
    const byId = new Map(all.edges.map((e: { node: { lessonId: string } }) => [e.node.lessonId, e.node]));
    expect(byId.get(L1)).toMatchObject({ courseId: 'wc', completed: false, completedAt: null, watchTimeSeconds: 100 });
    expect(byId.get(L2)).toMatchObject({ completed: false, watchTimeSeconds: 280 });
    const l3 = byId.get(L3) as { completed: boolean; completedAt: string; updatedAt: string; watchTimeSeconds: number };
    expect(l3).toMatchObject({ completed: true, watchTimeSeconds: 5 });
    // Watched after completing it: updatedAt is the later of the two.
    expect(Date.parse(l3.updatedAt)).toBeGreaterThanOrEqual(Date.parse(l3.completedAt));
    const enrolledAt = (await t.gql('{ me { enrollment(courseId: "wo") { enrolledAt } } }', { token })).data!.me.enrollment.enrolledAt;
    expect(byId.get('wo-l1')).toMatchObject({ courseId: 'wo', completed: false, watchTimeSeconds: 0, updatedAt: enrolledAt });

    expect(await page({ f: { completed: true } })).toMatchObject({ totalCount: 1, edges: [{ node: { lessonId: L3 } }] });
    const open = await page({ f: { courseId: 'wc', completed: false } });
    expect(open.totalCount).toBe(5);
    expect((await page({ f: { courseId: 'nope' } })).totalCount).toBe(0);

    // Pages of 3, through the cursors: the same rows, in order, once each.
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i += 1) {
      const p = await page({ first: 3, after });
      expect(p.totalCount).toBe(7);
      seen.push(...p.edges.map((e: { node: { lessonId: string } }) => e.node.lessonId));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
      expect(p.edges[p.edges.length - 1].cursor).toBe(after);
    }
    expect(seen).toEqual(all.edges.map((e: { node: { lessonId: string } }) => e.node.lessonId));
    // The default page is 20; past 100 and a made-up cursor are refused.
    expect((await page({})).edges).toHaveLength(7);
    expect((await t.gql(PROGRESS, { token, variables: { first: 101 } })).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await t.gql(PROGRESS, { token, variables: { after: 'bm90LWEtY3Vyc29y' } })).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('a learner Redis lost', () => {
  it('is loaded back with their watch time: totals, videos completed, nothing paid twice', async () => {
    const id = 'w-gus';
    await enroll(id);
    await watch(id, L1, 280);
    await watch(id, L2, 60);
    await watch(id, L4, 500);
    await t.app.settle();
    const before = await watchFields(id);
    expect(before).toMatchObject({ wt: '840', vc: '1', 'cw:wc': '840', xp: '50' });

    await t.app.redis.del(t.app.keys.learner(id));
    const token = await tokenFor(id);
    const read = await t.gql(PROGRESS, { token, variables: { first: 2 } });
    expect(read.data!.me.lessonProgress.edges.map((e: { node: { watchTimeSeconds: number } }) => e.node.watchTimeSeconds)).toEqual([280, 60]);
    expect(await watchFields(id)).toEqual(before);

    await t.app.redis.del(t.app.keys.learner(id));
    expect((await watch(id, L1, 20)).data!.recordWatchTime).toEqual({ lessonId: L1, watchTimeSeconds: 300, completed: true, completion: null });
    expect(await watchFields(id)).toMatchObject({ wt: '860', vc: '1', 'cw:wc': '860', xp: '50', 'w:wc-l1': '300' });
    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal(id)).toBe(50);
  });
});

describe('verify', () => {
  it('finds no drift after the runs above, and finds a corrupted watch total', async () => {
    await t.app.settle();
    const clean = await verify();
    expect(clean.drift.map((d) => `${d.learnerId}: ${d.what}`)).toEqual([]);
    expect(clean.learners).toBeGreaterThan(5);

    await t.app.redis.hincrby(t.app.keys.learner('w-ana'), 'wt', 7);
    const report = await verify();
    expect(report.drift.map((d) => d.learnerId)).toEqual(['w-ana']);
    expect(report.drift[0]!.what).toMatch(/wt 387 vs 380/);
    await t.app.redis.hincrby(t.app.keys.learner('w-ana'), 'wt', -7);
  });
});
