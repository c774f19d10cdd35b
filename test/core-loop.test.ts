import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let admin: string;
let service: string;

const ENROLL = `mutation($courseId: ID!, $learnerId: ID) { enroll(courseId: $courseId, learnerId: $learnerId) { id learnerId course { id } xpEarned progress { totalLessons completedLessons } } }`;
const COMPLETE = `mutation($lessonId: ID!, $learnerId: ID) {
  completeLesson(lessonId: $lessonId, learnerId: $learnerId) {
    lessonId xpAwarded totalXp level leveledUp
    badgesUnlocked { badge { id xpReward } learnerId awardedAt }
    enrollment { xpEarned progress { totalLessons completedLessons percentage completionRate } }
  }
}`;

// Lesson i of "loop" pays 10 + i XP, so totals differ between learners and ties are rare but possible.
const course = makeCourse({ id: 'loop', modules: 3, lessons: 4, xpOf: (i) => 10 + i * 5 });
const other = makeCourse({ id: 'other', modules: 1, lessons: 3, xp: 30 });
const lessonXp = new Map(course.modules.flatMap((m) => m.lessons.map((l) => [l.id, l.xpReward] as const)));

beforeAll(async () => {
  t = await startTestApp(env);
  admin = await tokenFor('admin', ['admin']);
  service = await tokenFor('lms-backend', ['service']);
  for (const c of [course, other]) {
    const res = await t.gql(`mutation($input: CourseInput!) { upsertCourse(input: $input) { id } }`, { variables: { input: c }, token: admin });
    expect(res.errors).toBeUndefined();
  }
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('enroll', () => {
  it('enrolls once, then says ALREADY_ENROLLED', async () => {
    const token = await tokenFor('enroll-1');
    const first = await t.gql(ENROLL, { variables: { courseId: 'loop' }, token });
    expect(first.errors).toBeUndefined();
    expect(first.data!.enroll).toMatchObject({ learnerId: 'enroll-1', course: { id: 'loop' }, xpEarned: 0, progress: { totalLessons: 12, completedLessons: 0 } });
    const again = await t.gql(ENROLL, { variables: { courseId: 'loop' }, token });
    expect(again.errors![0]!.extensions!.code).toBe('ALREADY_ENROLLED');
  });

  it('says NOT_FOUND for an unknown course', async () => {
    const res = await t.gql(ENROLL, { variables: { courseId: 'no-such-course' }, token: await tokenFor('enroll-2') });
    expect(res.errors![0]).toMatchObject({ extensions: { code: 'NOT_FOUND' }, message: 'There is no course with id "no-such-course".' });
  });
});

describe('completeLesson', () => {
  it('pays the catalog XP once and reports progress, level and badges', async () => {
    const token = await tokenFor('complete-1');
    await t.gql(ENROLL, { variables: { courseId: 'loop' }, token });
    const res = await t.gql(COMPLETE, { variables: { lessonId: 'loop-l12' }, token });
    expect(res.errors).toBeUndefined();
    expect(res.data!.completeLesson).toMatchObject({
      lessonId: 'loop-l12',
      xpAwarded: 65,
      totalXp: 65,
      level: 0,
      leveledUp: false,
      enrollment: { xpEarned: 65, progress: { totalLessons: 12, completedLessons: 1 } },
    });
    expect(res.data!.completeLesson.enrollment.progress.percentage).toBeCloseTo(100 / 12);
    const second = await t.gql(COMPLETE, { variables: { lessonId: 'loop-l11' }, token });
    expect(second.data!.completeLesson).toMatchObject({ xpAwarded: 60, totalXp: 125, level: 1, leveledUp: true });
  });

  it('refuses unknown lessons, lessons of courses not enrolled in, and repeats', async () => {
    const token = await tokenFor('complete-2');
    expect((await t.gql(COMPLETE, { variables: { lessonId: 'nope' }, token })).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect((await t.gql(COMPLETE, { variables: { lessonId: 'loop-l1' }, token })).errors![0]!.extensions!.code).toBe('NOT_ENROLLED');
    await t.gql(ENROLL, { variables: { courseId: 'loop' }, token });
    expect((await t.gql(COMPLETE, { variables: { lessonId: 'loop-l1' }, token })).errors).toBeUndefined();
    const repeat = await t.gql(COMPLETE, { variables: { lessonId: 'loop-l1' }, token });
    expect(repeat.errors![0]!.extensions!.code).toBe('ALREADY_COMPLETED');
    // Nothing was half-applied by the refusals.
    const me = await t.gql(`{ me { totalXp enrollment(courseId: "loop") { xpEarned progress { completedLessons } } } }`, { token });
    expect(me.data!.me).toEqual({ totalXp: 10, enrollment: { xpEarned: 10, progress: { completedLessons: 1 } } });
  });

  it('lets a service act for a learner, and keeps learners to themselves', async () => {
    const enrolled = await t.gql(ENROLL, { variables: { courseId: 'other', learnerId: 'served-1' }, token: service });
    expect(enrolled.data!.enroll.learnerId).toBe('served-1');
    const done = await t.gql(COMPLETE, { variables: { lessonId: 'other-l1', learnerId: 'served-1' }, token: service });
    expect(done.data!.completeLesson.totalXp).toBe(30);
    const meddling = await t.gql(COMPLETE, { variables: { lessonId: 'other-l2', learnerId: 'served-1' }, token: await tokenFor('mallory') });
    expect(meddling.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    const self = await t.gql(ENROLL, { variables: { courseId: 'other', learnerId: 'mallory' }, token: await tokenFor('mallory') });
    expect(self.errors).toBeUndefined();
  });

  it('lets exactly one of 50 concurrent completions of one lesson succeed; XP, ledger and board agree', async () => {
    const learner = 'racer';
    const token = await tokenFor(learner);
    await t.gql(ENROLL, { variables: { courseId: 'loop' }, token });
    const results = await Promise.all(Array.from({ length: 50 }, () => t.gql(COMPLETE, { variables: { lessonId: 'loop-l5' }, token })));
    const ok = results.filter((r) => !r.errors);
    const codes = results.filter((r) => r.errors).map((r) => r.errors![0]!.extensions!.code);
    expect(ok).toHaveLength(1);
    expect(codes).toEqual(Array(49).fill('ALREADY_COMPLETED'));
    expect(ok[0]!.data!.completeLesson.xpAwarded).toBe(30);

    await t.app.settle();
    const knex = t.app.orm.em.getKnex();
    const ledger = await knex('xp_transactions').where({ learner_id: learner });
    expect(ledger).toHaveLength(1);
    expect({ ...ledger[0], amount: Number(ledger[0].amount) }).toMatchObject({ amount: 30, reason: 'lesson_completed', source_id: 'loop-l5' });
    const me = await t.gql(`{ me { totalXp rank { score } } }`, { token });
    expect(me.data!.me).toEqual({ totalXp: 30, rank: { score: 30 } });
    const snapshot = await knex('learners').where({ id: learner }).first();
    expect(Number(snapshot.total_xp)).toBe(30);
  });
});

describe('200 learners completing random lessons at once', () => {
  it('keeps Redis totals, the Postgres ledger, snapshots and both boards exactly in agreement', async () => {
    const learners = Array.from({ length: 200 }, (_, i) => `crowd-${String(i).padStart(3, '0')}`);
    const lessons = [...lessonXp.keys()];
    // A fixed pseudo-random plan so a failure can be replayed.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const plan = new Map(learners.map((l) => [l, lessons.filter(() => rand() < 0.35)]));

    await Promise.all(learners.map((l) => t.gql(ENROLL, { variables: { courseId: 'loop', learnerId: l }, token: service })));
    const jobs = learners.flatMap((l) => plan.get(l)!.map((lesson) => ({ l, lesson })));
    // Shuffle so completions of different learners interleave.
    for (let i = jobs.length - 1; i > 0; i -= 1) {
      const j = Math.floor(rand() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    const results = await Promise.all(jobs.map((j) => t.gql(COMPLETE, { variables: { lessonId: j.lesson, learnerId: j.l }, token: service })));
    expect(results.filter((r) => r.errors)).toEqual([]);

    await t.app.settle();
    const knex = t.app.orm.em.getKnex();
    const sums = new Map(
      ((await knex('xp_transactions').select('learner_id').sum('amount as total').whereIn('learner_id', learners).groupBy('learner_id')) as { learner_id: string; total: string }[]).map((r) => [r.learner_id, Number(r.total)]),
    );
    const snapshots = new Map(((await knex('learners').whereIn('id', learners)) as { id: string; total_xp: number }[]).map((r) => [r.id, Number(r.total_xp)]));
    const counters = await t.app.learnerStore.counters(learners);
    const courseXp = await Promise.all(learners.map((l) => t.app.learnerStore.enrollment(l, 'loop')));
    const states = counters.map((c, i) => ({ ...c!, course: courseXp[i]! }));

    for (const [i, l] of learners.entries()) {
      const expected = plan.get(l)!.reduce((s, lesson) => s + lessonXp.get(lesson)!, 0);
      expect(states[i]!.totalXp, l).toBe(expected);
      expect(sums.get(l) ?? 0, l).toBe(expected);
      expect(snapshots.get(l), l).toBe(expected);
    }

    // Ranks are exact: compare each board with a sort done here (score desc, earlier first, then id).
    for (const board of [{ id: 'g:all', arg: null }, { id: 'c:loop:all', arg: { courseId: 'loop' } }]) {
      const { entries: all } = await t.app.services.boards.page(board.id, 1000, 0);
      const expected = states
        .filter((s) => s.totalXp > 0)
        .map((s) => ({
          learnerId: s.id,
          score: board.arg ? s.course.xpEarned : s.totalXp,
          at: board.arg ? s.course.xpAt! : s.xpAt!,
        }));
      const crowdOnBoard = all.filter((e) => e.learnerId.startsWith('crowd-'));
      const sorted = [...expected].sort((a, b) => b.score - a.score || a.at - b.at || Buffer.compare(Buffer.from(a.learnerId), Buffer.from(b.learnerId)));
      expect(crowdOnBoard.map((e) => [e.learnerId, e.score])).toEqual(sorted.map((e) => [e.learnerId, e.score]));
      // Ranks are 1..n with no gaps, and every learner's rank query agrees with the listing.
      expect(all.map((e) => e.rank)).toEqual(all.map((_, i) => i + 1));
      const sample = crowdOnBoard.slice(0, 20);
      const res = await t.gql(`query($b: BoardInput) { leaderboard(board: $b, first: 100) { totalCount entries { rank score learner { id totalXp } } } }`, { variables: { b: board.arg } });
      expect(res.data!.leaderboard.totalCount).toBe(all.length);
      for (const e of sample) {
        const token = await tokenFor(e.learnerId);
        const me = await t.gql(`query($b: BoardInput) { me { rank(board: $b) { rank score } } }`, { variables: { b: board.arg }, token });
        expect(me.data!.me.rank).toEqual({ rank: e.rank, score: e.score });
      }
    }
  });
});

describe('leaderboard', () => {
  it('ranks equal scores by who reached them first, and pages with aroundMe', async () => {
    const tie = makeCourse({ id: 'tie', modules: 1, lessons: 2, xp: 100 });
    await t.app.services.catalog.upsertCourse(tie);
    for (const l of ['tie-b', 'tie-a', 'tie-c']) await t.gql(ENROLL, { variables: { courseId: 'tie', learnerId: l }, token: service });
    // tie-b gets to 100 first, then tie-a, then tie-c goes to 200.
    for (const [l, lesson] of [['tie-b', 'tie-l1'], ['tie-a', 'tie-l1'], ['tie-c', 'tie-l1'], ['tie-c', 'tie-l2']] as const) {
      await t.gql(COMPLETE, { variables: { lessonId: lesson, learnerId: l }, token: service });
      await new Promise((r) => setTimeout(r, 3));
    }
    // Boards follow the outbox within milliseconds; settle so the read sees every move.
    await t.app.settle();
    const res = await t.gql(
      `{ leaderboard(board: {courseId: "tie"}, first: 2, offset: 1) { board { period courseId periodKey endsAt } totalCount entries { rank score learner { id } } me { rank } aroundMe(radius: 1) { rank learner { id } } } }`,
      { token: await tokenFor('tie-a') },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.leaderboard).toEqual({
      board: { period: 'ALL_TIME', courseId: 'tie', periodKey: null, endsAt: null },
      totalCount: 3,
      entries: [
        { rank: 2, score: 100, learner: { id: 'tie-b' } },
        { rank: 3, score: 100, learner: { id: 'tie-a' } },
      ],
      me: { rank: 3 },
      aroundMe: [
        { rank: 2, learner: { id: 'tie-b' } },
        { rank: 3, learner: { id: 'tie-a' } },
      ],
    });
  });

  it('is public without me, and refuses bad arguments with the field named', async () => {
    const anon = await t.gql(`{ leaderboard { totalCount me { rank } aroundMe { rank } } }`);
    expect(anon.errors).toBeUndefined();
    expect(anon.data!.leaderboard.me).toBeNull();
    expect(anon.data!.leaderboard.aroundMe).toEqual([]);
    const big = await t.gql(`query($n: Int) { leaderboard(first: $n) { totalCount } }`, { variables: { n: 101 } });
    expect(big.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const unknown = await t.gql(`{ leaderboard(board: {courseId: "nope"}) { totalCount } }`);
    expect(unknown.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});
