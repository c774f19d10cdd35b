import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "qz": one module, 2 lessons (50 XP each) and 2 quizzes (pass at 70, 40 XP each).
const Q1 = 'qz-m1-q1';
const Q2 = 'qz-m1-q2';
const SUBMIT = `mutation($q: ID!, $s: Int!, $l: ID, $id: ID) {
  submitQuizAttempt(quizId: $q, score: $s, learnerId: $l, eventId: $id) {
    attempt { id quizId score attemptNumber passed attemptedAt } xpAwarded totalXp level badgesUnlocked { badge { id } }
  }
}`;
const ATTEMPTS = `query($q: ID) { me { quizAttempts(quizId: $q) { id quizId score attemptNumber passed attemptedAt } } }`;
const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }`;

async function enroll(learnerId: string) {
  const res = await t.gql('mutation($l: ID) { enroll(courseId: "qz", learnerId: $l) { id } }', { variables: { l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

async function submit(learnerId: string, quizId: string, score: number, eventId?: string) {
  return t.gql(SUBMIT, { variables: { q: quizId, s: score, l: learnerId, id: eventId }, token: service });
}

/** The learner's quiz fields in Redis (qn:/qb:/qp:/cq: and the counters). */
async function quizFields(learnerId: string): Promise<Record<string, string>> {
  const h = await t.app.redis.hgetall(t.app.keys.learner(learnerId));
  return Object.fromEntries(Object.entries(h).filter(([k]) => /^(q[nbp]:|cq:|qt$|qpc$|qbs$|qbn$|qbm$|xp$)/.test(k)));
}

const verify = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'qz', modules: 1, lessons: 2, quizzes: 2, xp: 50 }));
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'other', modules: 1, lessons: 1, quizzes: 1 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('submitQuizAttempt', () => {
  it('numbers attempts, pays the first pass once, keeps the best score and the mean of bests', async () => {
    const id = 'qz-ana';
    await enroll(id);
    const results = [];
    for (const score of [40, 60, 85, 90]) {
      const res = await submit(id, Q1, score);
      expect(res.errors).toBeUndefined();
      results.push(res.data!.submitQuizAttempt);
    }
    expect(results.map((r) => [r.attempt.attemptNumber, r.attempt.score, r.attempt.passed, r.xpAwarded, r.totalXp])).toEqual([
      [1, 40, false, 0, 0],
      [2, 60, false, 0, 0],
      [3, 85, true, 40, 40],
      [4, 90, true, 0, 40],
    ]);
    expect(results[0].attempt.quizId).toBe(Q1);
    expect(new Set(results.map((r) => r.attempt.id)).size).toBe(4);
    const q2 = await submit(id, Q2, 30);
    expect(q2.data!.submitQuizAttempt.attempt).toMatchObject({ attemptNumber: 1, passed: false });

    // Best of q1 is 90, of q2 30: the mean of bests is 60 (qbs / qbn).
    expect(await quizFields(id)).toMatchObject({ 'qn:qz-m1-q1': '4', 'qb:qz-m1-q1': '90', 'qn:qz-m1-q2': '1', 'qb:qz-m1-q2': '30', qt: '5', qpc: '1', qbs: '120', qbn: '2', qbm: '90', 'cq:qz': '1', xp: '40' });

    // Read before the write-behind: every attempt is there, oldest first.
    const token = await tokenFor(id);
    const all = await t.gql(ATTEMPTS, { token });
    expect(all.errors).toBeUndefined();
    expect(all.data!.me.quizAttempts.map((a: { quizId: string; attemptNumber: number; score: number }) => [a.quizId, a.attemptNumber, a.score])).toEqual([
      [Q1, 1, 40],
      [Q1, 2, 60],
      [Q1, 3, 85],
      [Q1, 4, 90],
      [Q2, 1, 30],
    ]);
    expect(all.data!.me.quizAttempts.slice(0, 4)).toEqual(results.map((r) => r.attempt));
    const onlyQ2 = await t.gql(ATTEMPTS, { token, variables: { q: Q2 } });
    expect(onlyQ2.data!.me.quizAttempts.map((a: { score: number }) => a.score)).toEqual([30]);

    const progress = await t.gql('{ me { enrollment(courseId: "qz") { xpEarned progress { totalQuizzes passedQuizzes completedLessons completionRate } } } }', { token });
    expect(progress.data!.me.enrollment).toEqual({ xpEarned: 40, progress: { totalQuizzes: 2, passedQuizzes: 1, completedLessons: 0, completionRate: 0.25 } });

    await t.app.settle();
    const knex = t.app.orm.em.getKnex();
    const ledger = await knex('xp_transactions').where({ learner_id: id }).select('reason', 'source_id', 'amount', 'course_id');
    expect(ledger.map((r) => ({ ...r, amount: Number(r.amount) }))).toEqual([{ reason: 'quiz_passed', source_id: Q1, amount: 40, course_id: 'qz' }]);
    const rows = await knex('quiz_attempts').where({ learner_id: id }).orderBy(['quiz_id', 'attempt']).select('quiz_id', 'attempt', 'score', 'passed');
    expect(rows).toEqual([
      { quiz_id: Q1, attempt: 1, score: 40, passed: false },
      { quiz_id: Q1, attempt: 2, score: 60, passed: false },
      { quiz_id: Q1, attempt: 3, score: 85, passed: true },
      { quiz_id: Q1, attempt: 4, score: 90, passed: true },
      { quiz_id: Q2, attempt: 1, score: 30, passed: false },
    ]);
    expect(await knex('enrollments').where({ learner_id: id, course_id: 'qz' }).first()).toMatchObject({ quizzes_passed: 1 });
    const board = await t.gql('{ leaderboard(board: { courseId: "qz" }) { entries { score learner { id } } } }');
    expect(board.data!.leaderboard.entries).toContainEqual({ score: 40, learner: { id } });
  });

  it('refuses a score that is not a whole number from 0 to 100, changing nothing', async () => {
    const id = 'qz-ben';
    await enroll(id);
    const before = await quizFields(id);
    // The learner's version moves with every applied event (the outbox itself is trimmed as it is read).
    const versionBefore = await t.app.redis.hget(t.app.keys.learner(id), 'v');
    for (const score of [101, -1]) {
      const res = await submit(id, Q1, score);
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'score' });
    }
    const fractional = await t.gql(SUBMIT, { variables: { q: Q1, s: 1.5, l: id }, token: service });
    expect(fractional.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 's' });
    expect(await quizFields(id)).toEqual(before);
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'v')).toBe(versionBefore);
  });

  it('says NOT_ENROLLED for a quiz of a course the learner is not in, and NOT_FOUND for an unknown quiz', async () => {
    const id = 'qz-cem';
    await enroll(id);
    expect((await submit(id, 'other-m1-q1', 90)).errors![0]!.extensions!.code).toBe('NOT_ENROLLED');
    expect((await submit(id, 'no-such-quiz', 90)).errors![0]!.extensions!.code).toBe('NOT_FOUND');
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'qt')).toBeNull();
  });

  it('pays once for 10 concurrent passing attempts, numbering them 1..10', async () => {
    const id = 'qz-dan';
    await enroll(id);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => submit(id, Q2, 70 + i)));
    for (const r of results) expect(r.errors).toBeUndefined();
    const got = results.map((r) => r.data!.submitQuizAttempt);
    expect(got.map((r) => r.attempt.attemptNumber).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(got.filter((r) => r.xpAwarded > 0).map((r) => r.xpAwarded)).toEqual([40]);
    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal(id)).toBe(40);
    expect(await quizFields(id)).toMatchObject({ qt: '10', qpc: '1', 'qb:qz-m1-q2': '79', qbs: '79', qbn: '1', qbm: '79' });
  });

  it('answers a repeat of the same eventId with the first result', async () => {
    const id = 'qz-eve';
    await enroll(id);
    const first = await submit(id, Q1, 75, 'attempt-1');
    const again = await submit(id, Q1, 75, 'attempt-1');
    expect(first.errors).toBeUndefined();
    expect(again.data).toEqual(first.data);
    expect(first.data!.submitQuizAttempt).toMatchObject({ xpAwarded: 40, attempt: { attemptNumber: 1, passed: true } });
    expect(await quizFields(id)).toMatchObject({ 'qn:qz-m1-q1': '1', qt: '1', xp: '40' });
    // The same id for another action is refused.
    expect((await submit(id, Q2, 75, 'attempt-1')).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'eventId' });
    // So is the same id for the same quiz with another score: that is another attempt, not a retry.
    expect((await submit(id, Q1, 10, 'attempt-1')).errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'eventId' });
    expect(await quizFields(id)).toMatchObject({ 'qn:qz-m1-q1': '1', qt: '1', xp: '40' });
  });
});

describe('the score chart page by page', () => {
  it('walks every attempt with first and after, oldest first, and refuses a cursor it did not hand out', async () => {
    const id = 'qz-pager';
    await enroll(id);
    for (const score of [10, 20, 30, 40, 50]) await submit(id, Q1, score);
    for (const score of [60, 70]) await submit(id, Q2, score);
    const token = await tokenFor(id);
    const PAGE = 'query($after: String, $q: ID) { me { quizAttempts(quizId: $q, first: 3, after: $after) { quizId score attemptNumber cursor } } }';
    const seen: number[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages += 1) {
      const res = await t.gql(PAGE, { variables: { after }, token });
      expect(res.errors).toBeUndefined();
      const page = res.data!.me.quizAttempts as { score: number; cursor: string }[];
      if (page.length === 0) break;
      seen.push(...page.map((a) => a.score));
      after = page[page.length - 1]!.cursor;
    }
    expect(seen).toEqual([10, 20, 30, 40, 50, 60, 70]);
    // One quiz's chart pages the same way.
    const q2 = await t.gql(PAGE, { variables: { q: Q2, after: null }, token });
    const first = q2.data!.me.quizAttempts as { score: number; cursor: string }[];
    expect(first.map((a) => a.score)).toEqual([60, 70]);
    const rest = await t.gql(PAGE, { variables: { q: Q2, after: first[0]!.cursor }, token });
    expect(rest.data!.me.quizAttempts.map((a: { score: number }) => a.score)).toEqual([70]);

    for (const bad of ['nope', Buffer.from('[1e20,"q",1]').toString('base64url'), Buffer.from('[1,"",1]').toString('base64url'), Buffer.from('[0,"\\u0000",1]').toString('base64url'), Buffer.from('[0,"a b",1]').toString('base64url'), 'x'.repeat(500)]) {
      const res = await t.gql(PAGE, { variables: { after: bad }, token });
      expect(res.errors?.[0]?.extensions, bad.slice(0, 20)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });
});

describe('recordEvents with QUIZ_ATTEMPTED', () => {
  it('equals the same events applied one by one, duplicates and rejections aside', async () => {
    const [bulk, single] = ['qz-bulk', 'qz-single'];
    await enroll(bulk);
    await enroll(single);
    const at = new Date(Date.now() - 60_000).toISOString();
    const events = [
      { id: 'e1', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q1, score: 50 },
      { id: 'e2', type: 'LESSON_COMPLETED', occurredAt: at, lessonId: 'qz-l1' },
      { id: 'e3', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q1, score: 80 },
      { id: 'e1', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q1, score: 50 },
      { id: 'e4', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: 'no-such-quiz', score: 80 },
      { id: 'e5', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q2 },
      { id: 'e6', type: 'QUIZ_ATTEMPTED', occurredAt: at, score: 80 },
      { id: 'e7', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q2, score: 101 },
      { id: 'e8', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: 'other-m1-q1', score: 90 },
      { id: 'e9', type: 'LESSON_COMPLETED', occurredAt: at, lessonId: 'qz-l1' },
      { id: 'e10', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q1, score: 100 },
      { id: 'e3', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q1, score: 80 },
      { id: 'e11', type: 'QUIZ_ATTEMPTED', occurredAt: at, quizId: Q2, score: 70 },
    ];
    const res = await t.gql(RECORD, { variables: { e: events.map((e) => ({ ...e, learnerId: bulk })) }, token: service });
    expect(res.errors).toBeUndefined();
    const got = res.data!.recordEvents;
    expect({ accepted: got.accepted, duplicates: got.duplicates }).toEqual({ accepted: 5, duplicates: 2 });
    expect(got.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [4, 'NOT_FOUND'],
      [5, 'BAD_USER_INPUT'],
      [6, 'BAD_USER_INPUT'],
      [7, 'BAD_USER_INPUT'],
      [8, 'NOT_ENROLLED'],
      [9, 'ALREADY_COMPLETED'],
    ]);
    expect(got.rejected[1].message).toContain('events.5.score');
    expect(got.rejected[2].message).toContain('events.6.quizId');

    // One by one, through the mutations, the events recordEvents applied.
    for (const e of events.filter((_, i) => [0, 1, 2, 10, 12].includes(i))) {
      const r =
        e.type === 'QUIZ_ATTEMPTED'
          ? await submit(single, e.quizId!, e.score!, e.id)
          : await t.gql('mutation($l: ID, $id: ID) { completeLesson(lessonId: "qz-l1", learnerId: $l, eventId: $id) { xpAwarded } }', { variables: { l: single, id: e.id }, token: service });
      expect(r.errors).toBeUndefined();
    }
    const stateOf = async (l: string) => {
      const me = await t.gql('{ me { totalXp enrollment(courseId: "qz") { xpEarned progress { passedQuizzes completedLessons completionRate } } quizAttempts { quizId score attemptNumber passed } } }', {
        token: await tokenFor(l),
      });
      expect(me.errors).toBeUndefined();
      // First-pass times differ (the caller's time against the server's); whether set does not.
      const fields = Object.fromEntries(Object.entries(await quizFields(l)).map(([k, v]) => [k, k.startsWith('qp:') ? 'set' : v]));
      return { me: me.data!.me, fields };
    };
    const [a, b] = [await stateOf(bulk), await stateOf(single)];
    expect(a).toEqual(b);
    expect(a.me).toMatchObject({ totalXp: 130, enrollment: { xpEarned: 130, progress: { passedQuizzes: 2, completedLessons: 1, completionRate: 0.75 } } });
  });
});

describe('a learner Redis lost', () => {
  it('is loaded back with their quiz state: numbering goes on, nothing is paid twice', async () => {
    const id = 'qz-fay';
    await enroll(id);
    for (const [quiz, score] of [[Q1, 30], [Q1, 95], [Q2, 65]] as const) expect((await submit(id, quiz, score)).errors).toBeUndefined();
    await t.app.settle();
    const before = await quizFields(id);
    expect(before).toMatchObject({ qt: '3', qpc: '1', qbs: '160', qbn: '2', qbm: '95', 'cq:qz': '1' });

    await t.app.redis.del(t.app.keys.learner(id));
    const token = await tokenFor(id);
    const read = await t.gql(ATTEMPTS, { token, variables: { q: Q1 } });
    expect(read.data!.me.quizAttempts.map((a: { attemptNumber: number }) => a.attemptNumber)).toEqual([1, 2]);
    expect(await quizFields(id)).toEqual(before);

    await t.app.redis.del(t.app.keys.learner(id));
    const next = await submit(id, Q1, 99);
    expect(next.data!.submitQuizAttempt).toMatchObject({ attempt: { attemptNumber: 3, passed: true }, xpAwarded: 0, totalXp: 40 });
    const pass2 = await submit(id, Q2, 70);
    expect(pass2.data!.submitQuizAttempt).toMatchObject({ attempt: { attemptNumber: 2, passed: true }, xpAwarded: 40, totalXp: 80 });
    expect(await quizFields(id)).toMatchObject({ qt: '5', qpc: '2', qbs: '169', qbn: '2', qbm: '99', 'cq:qz': '2', 'qb:qz-m1-q1': '99' });
    await t.app.settle();
    expect(await t.app.learnerRepo.ledgerTotal(id)).toBe(80);
  });
});

describe('an attempt number Postgres already holds', () => {
  it('is noticed by the writer, which has the learner rebuilt so numbering goes on from Postgres', async () => {
    // A hash that counted fewer attempts than Postgres holds (deleted while entries were on
    // their way, with no flush before hydration): the next attempt reuses a number.
    const id = 'qz-taken';
    await enroll(id);
    for (const score of [20, 30]) expect((await submit(id, Q1, score)).errors).toBeUndefined();
    await t.app.settle();
    await t.app.redis.hset(t.app.keys.learner(id), `qn:${Q1}`, '1', 'qt', '1');
    const detected = t.app.repair.stats.detected;
    const reused = await submit(id, Q1, 40);
    expect(reused.data!.submitQuizAttempt.attempt.attemptNumber).toBe(2);
    await t.app.settle();
    await eventually(() => t.app.repair.stats.detected > detected, 5000, 'detection');
    await t.app.repair.idle();
    // Rebuilt from Postgres: the next attempt takes the number after Postgres's last one.
    const next = await submit(id, Q1, 50);
    expect(next.data!.submitQuizAttempt.attempt.attemptNumber).toBe(3);
    await t.app.settle();
    const rows = await t.gql(ATTEMPTS, { token: await tokenFor(id), variables: { q: Q1 } });
    expect(rows.data!.me.quizAttempts.map((a: { attemptNumber: number; score: number }) => [a.attemptNumber, a.score])).toEqual([[1, 20], [2, 30], [3, 50]]);
  });
});

describe('a quiz an edit moved to another course', () => {
  it('counts its pass in the course of the first pass, live, after hydration and in verify', async () => {
    // "mv-a" has the quiz; an edit removes it and gives its id to "mv-b".
    const quiz = 'mv-a-m1-q1';
    const a = makeCourse({ id: 'mv-a', modules: 1, lessons: 1, quizzes: 1 });
    await t.app.services.catalog.upsertCourse(a);
    const id = 'qz-mover';
    for (const c of ['mv-a']) {
      const res = await t.gql('mutation($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { l: id, c }, token: service });
      expect(res.errors).toBeUndefined();
    }
    expect((await submit(id, quiz, 80)).data!.submitQuizAttempt).toMatchObject({ xpAwarded: 40, attempt: { attemptNumber: 1, passed: true } });
    await t.app.services.catalog.upsertCourse({ ...a, modules: a.modules.map((m) => ({ ...m, quizzes: [] })) });
    const b = makeCourse({ id: 'mv-b', modules: 1, lessons: 1, quizzes: 0 });
    await t.app.services.catalog.upsertCourse({ ...b, modules: b.modules.map((m) => ({ ...m, quizzes: [{ id: quiz, title: 'Moved', passScore: 50, xpReward: 40 }] })) });
    const res = await t.gql('mutation($l: ID) { enroll(courseId: "mv-b", learnerId: $l) { id } }', { variables: { l: id }, token: service });
    expect(res.errors).toBeUndefined();
    // Passed once already: the retake in mv-b pays nothing and counts nowhere.
    expect((await submit(id, quiz, 90)).data!.submitQuizAttempt).toMatchObject({ xpAwarded: 0, attempt: { attemptNumber: 2, passed: true } });
    const live = await quizFields(id);
    expect(live).toMatchObject({ 'cq:mv-a': '1', qpc: '1' });
    expect(live['cq:mv-b']).toBeUndefined();

    await t.app.settle();
    const report = await verify();
    expect(report.drift.filter((d) => d.learnerId === id)).toEqual([]);
    // Loaded back from Postgres, the learner counts the pass where the script did.
    await t.app.redis.del(t.app.keys.learner(id));
    await t.app.hot.counters([id]);
    await t.app.services.progress.topicMastery(id, 'mv-b', () => t.app.learnerStore.enrollments(id));
    const loaded = await quizFields(id);
    expect(Number(loaded['cq:mv-b'] ?? 0)).toBe(0);
    expect(loaded).toMatchObject({ 'cq:mv-a': '1', qpc: '1', 'qn:mv-a-m1-q1': '2' });
    // Repair's recomputation agrees too.
    await t.app.learnerRepo.recomputeFromLedger(id);
    const audit = (await t.app.learnerRepo.audit([id])).get(id)!;
    expect(audit.courses.get('mv-b')).toMatchObject({ quizzesPassed: 0, passedQuizzes: 0 });
    expect(audit.courses.get('mv-a')).toMatchObject({ quizzesPassed: 1, passedQuizzes: 1 });
  });
});

describe('verify', () => {
  it('finds no drift after the runs above, and finds a corrupted quiz counter', async () => {
    await t.app.settle();
    const clean = await verify();
    expect(clean.drift).toEqual([]);
    expect(clean.learners).toBeGreaterThan(5);

    await t.app.redis.hincrby(t.app.keys.learner('qz-ana'), 'qpc', 1);
    const report = await verify();
    expect(report.drift.map((d) => d.learnerId)).toEqual(['qz-ana']);
    expect(report.drift[0]!.what).toMatch(/qpc 2 vs 1/);
    await t.app.redis.hincrby(t.app.keys.learner('qz-ana'), 'qpc', -1);
  });
});
