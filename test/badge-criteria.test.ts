import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadgeCriteria } from '../src/domain/badges/criteria';
import { verifyStores } from '../src/store/verify';
import { decodeDays } from '../src/store/redis/dayBitmap';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

/*
 * Badge criteria fed by the progress facts (quizzes, videos, watch time), unlocked inside the
 * event's own script, through GraphQL. Every badge below is in force for every learner of the
 * file, so each test's expectations name exactly what its learner unlocks (and nothing else).
 */

const env = newTestEnv();
let t: TestApp;
let service: string;

// Courses (makeCourse): lessons <id>-l<n> of 300 s (l1 VIDEO, l2 READING), quizzes
// <id>-m<m>-q<n> paying 40 XP. "bq": quizzes pass at 70. "bs": quizzes pass at 100 only (no
// pass, so no quizzes_passed, in the score tests). "bv": lessons to watch. "bk": one quiz.
// "bz" (a lesson and a quiz) and "by" (a lesson): READING lessons, courses to complete.
const BADGES: { id: string; criteria: BadgeCriteria; xpReward: number }[] = [
  { id: 'bc-passed2', criteria: { type: 'quizzes_passed', value: 2 }, xpReward: 10 },
  { id: 'bc-q1-90', criteria: { type: 'quiz_score', min_score: 90, quiz_id: 'bs-m1-q1' }, xpReward: 0 },
  { id: 'bc-any-95', criteria: { type: 'quiz_score', min_score: 95 }, xpReward: 0 },
  // min_score 0 reads an absent best score as 0: it must still wait for an attempt, even when
  // another rule of the badge is met by an event that checks it (a lesson paying XP).
  { id: 'bc-tried', criteria: { all: [{ type: 'xp_total', value: 1 }, { type: 'quiz_score', min_score: 0, quiz_id: 'bs-m2-q1' }] }, xpReward: 0 },
  { id: 'bc-video', criteria: { type: 'videos_completed', value: 1 }, xpReward: 0 },
  { id: 'bc-watch', criteria: { type: 'watch_time_seconds', value: 400 }, xpReward: 0 },
  { id: 'bc-conc', criteria: { type: 'quiz_score', min_score: 80, quiz_id: 'bk-m1-q1' }, xpReward: 25 },
  { id: 'bc-course-bz', criteria: { type: 'courses_completed', value: 1, course_id: 'bz' }, xpReward: 0 },
  { id: 'bc-courses2', criteria: { type: 'courses_completed', value: 2 }, xpReward: 5 },
  { id: 'bc-days3', criteria: { type: 'active_days', value: 3 }, xpReward: 0 },
];

const SUBMIT = `mutation($q: ID!, $s: Int!, $l: ID) {
  submitQuizAttempt(quizId: $q, score: $s, learnerId: $l) { attempt { attemptNumber passed } xpAwarded totalXp badgesUnlocked { badge { id } learnerId } }
}`;
const WATCH = `mutation($l: ID!, $s: Int!, $who: ID) {
  recordWatchTime(lessonId: $l, seconds: $s, learnerId: $who) { watchTimeSeconds completed completion { xpAwarded totalXp badgesUnlocked { badge { id } } } }
}`;
const COMPLETE = 'mutation($l: ID!, $who: ID) { completeLesson(lessonId: $l, learnerId: $who) { xpAwarded badgesUnlocked { badge { id } } } }';
const ME = '{ me { totalXp badges { badge { id } awardedAt } } }';

async function enroll(learnerId: string, courseId: string) {
  const res = await t.gql('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { c: courseId, l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

/** Submit an attempt; the ids of the badges it unlocked. */
async function submit(learnerId: string, quizId: string, score: number): Promise<string[]> {
  const res = await t.gql(SUBMIT, { variables: { q: quizId, s: score, l: learnerId }, token: service });
  expect(res.errors, `${quizId} ${score}`).toBeUndefined();
  return res.data!.submitQuizAttempt.badgesUnlocked.map((b: { badge: { id: string } }) => b.badge.id);
}

async function watch(learnerId: string, lessonId: string, seconds: number) {
  const res = await t.gql(WATCH, { variables: { l: lessonId, s: seconds, who: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
  return res.data!.recordWatchTime;
}

/** The learner's badges as `me` reads them. */
async function badgesOf(learnerId: string): Promise<string[]> {
  const res = await t.gql(ME, { token: await tokenFor(learnerId) });
  expect(res.errors).toBeUndefined();
  return res.data!.me.badges.map((b: { badge: { id: string } }) => b.badge.id).sort();
}

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  const catalog = t.app.services.catalog;
  await catalog.upsertCourse(makeCourse({ id: 'bq', modules: 2, lessons: 1, quizzes: 2 }));
  const bs = makeCourse({ id: 'bs', modules: 2, lessons: 2, quizzes: 2 });
  for (const m of bs.modules) for (const q of m.quizzes ?? []) q.passScore = 100;
  await catalog.upsertCourse(bs);
  await catalog.upsertCourse(makeCourse({ id: 'bv', modules: 1, lessons: 2 }));
  await catalog.upsertCourse(makeCourse({ id: 'bk', modules: 1, lessons: 1, quizzes: 1 }));
  for (const c of [makeCourse({ id: 'bz', modules: 1, lessons: 1, quizzes: 1 }), makeCourse({ id: 'by', modules: 1, lessons: 1 })]) {
    for (const m of c.modules) for (const l of m.lessons) l.kind = 'READING';
    await catalog.upsertCourse(c);
  }
  for (const b of BADGES) await catalog.upsertBadge({ ...b, name: b.id });
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('active_days', () => {
  it('counts distinct learning days (backfilled events on their own days), unlocks on the third, and survives a reload', async () => {
    const id = 'bc-days';
    await enroll(id, 'bv');
    const RECORD = 'mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted rejected { code } } }';
    const ev = (n: number, type: string, at: string, extra: Record<string, unknown>) => ({ id: `d-${n}`, type, occurredAt: at, learnerId: id, ...extra });
    // Two events on 2025-06-01 (one day), one on 2025-06-02: with the enrollment's day (today), three days.
    const res = await t.gql(RECORD, {
      variables: {
        e: [
          ev(1, 'LESSON_ACCESSED', '2025-06-01T08:00:00Z', { lessonId: 'bv-l1' }),
          ev(2, 'VIDEO_PROGRESS', '2025-06-01T23:59:00Z', { lessonId: 'bv-l1', watchedSeconds: 30 }),
        ],
      },
      token: service,
    });
    expect(res.data!.recordEvents).toEqual({ accepted: 2, rejected: [] });
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'ad')).toBe('2');
    expect(await badgesOf(id)).not.toContain('bc-days3');
    // A lesson access brings the third day: it marks the day and checks the day's badges itself.
    const third = await t.gql(RECORD, { variables: { e: [ev(3, 'LESSON_ACCESSED', '2025-06-02T00:01:00Z', { lessonId: 'bv-l2' })] }, token: service });
    expect(third.data!.recordEvents).toEqual({ accepted: 1, rejected: [] });
    expect(await badgesOf(id)).toContain('bc-days3');
    const day = (iso: string) => Math.floor(Date.parse(iso) / 86_400_000);
    const [ad, bits, d0] = await t.app.redis.hmgetBuffer(t.app.keys.learner(id), 'ad', 'days', 'd0');
    expect(String(ad)).toBe('3');
    const marked = decodeDays(Number(String(d0)), bits!);
    expect(marked).toHaveLength(3);
    expect(marked).toEqual(expect.arrayContaining([day('2025-06-01T00:00:00Z'), day('2025-06-02T00:00:00Z')]));

    // Reloaded from Postgres: the same days, and an event on a day already active adds none.
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner(id));
    await t.gql(RECORD, { variables: { e: [ev(4, 'LESSON_ACCESSED', '2025-06-02T10:00:00Z', { lessonId: 'bv-l1' })] }, token: service });
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'ad')).toBe('3');
    const stats = await t.gql('{ me { stats { activeDays } } }', { token: await tokenFor(id) });
    expect(stats.data!.me.stats.activeDays).toBe(3);
  });
});

describe('quizzes_passed', () => {
  it('unlocks on the second quiz passed, pays its XP once, and never again', async () => {
    const id = 'bc-ana';
    await enroll(id, 'bq');
    expect(await submit(id, 'bq-m1-q1', 75)).toEqual([]);
    // The same quiz passed again is still one quiz passed; a failed attempt counts nothing.
    expect(await submit(id, 'bq-m1-q1', 80)).toEqual([]);
    expect(await submit(id, 'bq-m1-q2', 50)).toEqual([]);
    const res = await t.gql(SUBMIT, { variables: { q: 'bq-m1-q2', s: 85, l: id }, token: service });
    expect(res.data!.submitQuizAttempt).toMatchObject({ xpAwarded: 40, totalXp: 90, badgesUnlocked: [{ badge: { id: 'bc-passed2' }, learnerId: id }] });
    expect(await submit(id, 'bq-m2-q2', 75)).toEqual([]);
    expect(await submit(id, 'bq-m2-q1', 70)).toEqual([]);
    expect(await badgesOf(id)).toEqual(['bc-passed2']);
    const h = await t.app.redis.hgetall(t.app.keys.learner(id));
    expect(h).toMatchObject({ qpc: '4', xp: String(4 * 40 + 10) });
  });
});

describe('quiz_score', () => {
  it('with a quiz_id unlocks on the attempt of that quiz that first reaches min_score', async () => {
    const id = 'bc-bea';
    await enroll(id, 'bs');
    // 92 on another quiz is not this quiz's score.
    expect(await submit(id, 'bs-m1-q2', 92)).toEqual([]);
    expect(await submit(id, 'bs-m1-q1', 80)).toEqual([]);
    expect(await submit(id, 'bs-m1-q1', 89)).toEqual([]);
    expect(await submit(id, 'bs-m1-q1', 90)).toEqual(['bc-q1-90']);
    expect(await submit(id, 'bs-m1-q1', 94)).toEqual([]);
    expect(await badgesOf(id)).toEqual(['bc-q1-90']);
  });

  it('without a quiz_id unlocks on the best score over all quizzes (qbm)', async () => {
    const id = 'bc-cy';
    await enroll(id, 'bs');
    expect(await submit(id, 'bs-m1-q2', 94)).toEqual([]);
    expect(await submit(id, 'bs-m2-q2', 60)).toEqual([]);
    expect(await submit(id, 'bs-m2-q2', 96)).toEqual(['bc-any-95']);
    expect(await submit(id, 'bs-m1-q2', 99)).toEqual([]);
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'qbm')).toBe('99');
    expect(await badgesOf(id)).toEqual(['bc-any-95']);
  });

  it('at min_score 0 waits for an attempt of the quiz, even when the rest of the badge is met', async () => {
    const id = 'bc-dee';
    await enroll(id, 'bs');
    // XP from a lesson meets xp_total and checks the badge: the quiz was never attempted.
    const done = await t.gql(COMPLETE, { variables: { l: 'bs-l2', who: id }, token: service });
    expect(done.data!.completeLesson).toEqual({ xpAwarded: 50, badgesUnlocked: [] });
    // Other quizzes attempted are not that one.
    expect(await submit(id, 'bs-m1-q2', 10)).toEqual([]);
    expect(await submit(id, 'bs-m2-q1', 0)).toEqual(['bc-tried']);
    expect(await submit(id, 'bs-m2-q1', 5)).toEqual([]);
    expect(await badgesOf(id)).toEqual(['bc-tried']);
  });
});

describe('videos_completed and watch_time_seconds', () => {
  it('a watch crossing 90% of a video completes it and unlocks videos_completed in the same step', async () => {
    const id = 'bc-eve';
    await enroll(id, 'bv');
    const first = await watch(id, 'bv-l1', 200);
    expect(first).toMatchObject({ watchTimeSeconds: 200, completed: false, completion: null });
    expect(await badgesOf(id)).toEqual([]);
    const second = await watch(id, 'bv-l1', 70);
    expect(second).toMatchObject({ watchTimeSeconds: 270, completed: true, completion: { xpAwarded: 50, totalXp: 50, badgesUnlocked: [{ badge: { id: 'bc-video' } }] } });
    // A READING lesson completed is no video: nothing more.
    const done = await t.gql(COMPLETE, { variables: { l: 'bv-l2', who: id }, token: service });
    expect(done.data!.completeLesson).toEqual({ xpAwarded: 50, badgesUnlocked: [] });
    expect(await badgesOf(id)).toEqual(['bc-video']);
  });

  it('watch time unlocks on the watch that reaches it, even one that completes nothing, once', async () => {
    const id = 'bc-fay';
    await enroll(id, 'bv');
    // bv-l2 is a READING lesson: watching it never completes it, only adds watch time.
    expect(await watch(id, 'bv-l2', 250)).toMatchObject({ completed: false });
    expect(await badgesOf(id)).toEqual([]);
    expect(await watch(id, 'bv-l2', 149)).toMatchObject({ watchTimeSeconds: 399, completed: false });
    expect(await badgesOf(id)).toEqual([]);
    expect(await watch(id, 'bv-l2', 1)).toMatchObject({ watchTimeSeconds: 400, completed: false, completion: null });
    expect(await badgesOf(id)).toEqual(['bc-watch']);
    const awardedAt = (await t.gql(ME, { token: await tokenFor(id) })).data!.me.badges[0].awardedAt;
    await watch(id, 'bv-l2', 100);
    const me = (await t.gql(ME, { token: await tokenFor(id) })).data!.me;
    expect(me.badges).toEqual([{ badge: { id: 'bc-watch' }, awardedAt }]);
    expect(me.totalXp).toBe(0);
  });
});

describe('concurrent qualifying attempts', () => {
  it('unlock the badge exactly once: one award, its XP once', async () => {
    const id = 'bc-gus';
    await enroll(id, 'bk');
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await t.gql(SUBMIT, { variables: { q: 'bk-m1-q1', s: 85, l: id }, token: service });
        expect(res.errors).toBeUndefined();
        return res.data!.submitQuizAttempt;
      }),
    );
    expect(results.map((r) => r.attempt.attemptNumber).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const unlocked = results.filter((r) => r.badgesUnlocked.length > 0);
    expect(unlocked.map((r) => r.badgesUnlocked.map((b: { badge: { id: string } }) => b.badge.id))).toEqual([['bc-conc']]);
    // The first pass pays the quiz (40) and the attempt that unlocked is that one (the score
    // qualifies from the first attempt on), so the badge's 25 XP comes with it.
    expect(unlocked[0].attempt.attemptNumber).toBe(1);
    expect(results.reduce((sum, r) => sum + r.xpAwarded, 0)).toBe(40);
    const me = (await t.gql(ME, { token: await tokenFor(id) })).data!.me;
    expect(me).toMatchObject({ totalXp: 65, badges: [{ badge: { id: 'bc-conc' } }] });
    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal(id)).toBe(65);
  });
});

describe('courses_completed', () => {
  it('unlocks on the event that completes the course: a quiz passed last, then a lesson completed last', async () => {
    const id = 'bc-hal';
    await enroll(id, 'bz');
    await enroll(id, 'by');
    // bz: the lesson alone does not complete it (its quiz is not passed).
    const lesson = await t.gql(COMPLETE, { variables: { l: 'bz-l1', who: id }, token: service });
    expect(lesson.data!.completeLesson).toEqual({ xpAwarded: 50, badgesUnlocked: [] });
    expect(await submit(id, 'bz-m1-q1', 60)).toEqual([]);
    // The first pass completes bz: the badge for that course, not yet the one for two courses.
    expect(await submit(id, 'bz-m1-q1', 75)).toEqual(['bc-course-bz']);
    expect(await submit(id, 'bz-m1-q1', 92)).toEqual([]);
    // by's only lesson completes the second course.
    const second = await t.gql(COMPLETE, { variables: { l: 'by-l1', who: id }, token: service });
    expect(second.data!.completeLesson).toEqual({ xpAwarded: 50, badgesUnlocked: [{ badge: { id: 'bc-courses2' } }] });
    expect(await badgesOf(id)).toEqual(['bc-course-bz', 'bc-courses2']);
    const h = await t.app.redis.hgetall(t.app.keys.learner(id));
    expect(h).toMatchObject({ crs: '2', xp: String(50 + 40 + 50 + 5) });
  });
});

describe('the stores after all of the above', () => {
  it('agree: Redis (qbm and the other counters, the badges) against Postgres', async () => {
    await t.app.settle();
    const report = await verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });
    expect(report.drift).toEqual([]);
    expect(report.learners).toBeGreaterThanOrEqual(7);
  });
});
