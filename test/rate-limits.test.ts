import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type GqlResult, type TestApp } from './harness';

// Per-learner rate limits on learner actions, with small budgets and the app's clock in the
// test's hands: a refused action changes nothing, and the budget comes back with time.
const env = newTestEnv();
let t: TestApp;
let admin: string;
let service: string;
/** The app's clock: it moves only when a test moves it. */
let nowMs = Date.now();

const PER_MINUTE = 3; // completeLesson, enroll, submitQuizAttempt, recordWatchTime: one every 20 s
const EVENTS_PER_MINUTE = 5; // recordEvents: one event every 12 s
const SERVICE_FACTOR = 2;

const ENROLL = 'mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }';
const COMPLETE = 'mutation($lesson: ID!, $l: ID, $e: ID) { completeLesson(lessonId: $lesson, learnerId: $l, eventId: $e) { xpAwarded totalXp } }';
const QUIZ = 'mutation($q: ID!, $l: ID) { submitQuizAttempt(quizId: $q, score: 90, learnerId: $l) { xpAwarded } }';
const WATCH = 'mutation($lesson: ID!, $l: ID) { recordWatchTime(lessonId: $lesson, seconds: 10, learnerId: $l) { watchTimeSeconds } }';
const RECORD = 'mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }';
const ME = '{ me { totalXp enrollment(courseId: "rl") { xpEarned progress { completedLessons percentage } } quizAttempts { score } } }';

const course = makeCourse({ id: 'rl', modules: 2, lessons: 15, xp: 10, quizzes: 1 });
const lesson = (n: number) => `rl-l${n}`;

beforeAll(async () => {
  t = await startTestApp(env, {
    config: {
      RATE_LIMIT_ENROLL: String(PER_MINUTE),
      RATE_LIMIT_COMPLETE_LESSON: String(PER_MINUTE),
      RATE_LIMIT_SUBMIT_QUIZ_ATTEMPT: String(PER_MINUTE),
      RATE_LIMIT_RECORD_WATCH_TIME: String(PER_MINUTE),
      RATE_LIMIT_RECORD_EVENTS: String(EVENTS_PER_MINUTE),
      RATE_LIMIT_SERVICE_FACTOR: String(SERVICE_FACTOR),
    },
    app: { clock: { now: () => nowMs } },
  });
  admin = await tokenFor('admin', ['admin']);
  service = await tokenFor('lms-backend', ['service']);
  const res = await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin });
  expect(res.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

/** Let a whole window pass: every budget is full again. */
const nextMinute = () => (nowMs += 60_000);

function ok<T = Record<string, any>>(res: GqlResult<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

/** Everything a refused action could have touched: the answers, the Redis hash, and (written behind) the event log and ledger. */
async function stateOf(learnerId: string) {
  await t.app.settle();
  const knex = t.app.orm.em.getKnex();
  const count = async (table: string) => Number(((await knex(table).where({ learner_id: learnerId }).count('* as n')) as { n: string }[])[0]!.n);
  return {
    me: ok(await t.gql(ME, { token: await tokenFor(learnerId) })).me,
    hash: await t.app.redis.hgetall(t.app.keys.learner(learnerId)),
    events: await count('learner_events'),
    ledger: await count('xp_transactions'),
    attempts: await count('quiz_attempts'),
  };
}

describe('learner actions over the budget', () => {
  it('are refused with RATE_LIMITED and retryAfter, and change nothing: no XP, progress, outbox entry, ledger row or event record', async () => {
    const token = await tokenFor('amy');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    for (let n = 1; n <= PER_MINUTE; n += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token }));
    const before = await stateOf('amy');
    expect(before.me).toMatchObject({ totalXp: 30, enrollment: { progress: { completedLessons: 3 } } });

    const refused = await t.gql(COMPLETE, { variables: { lesson: lesson(4), e: 'amy-4' }, token });
    expect(refused.data).toBeNull();
    expect(refused.errors![0]).toMatchObject({
      message: 'Too many lesson completions for learner "amy" in a short time (at most 3 a minute); try again in 20 s.',
      extensions: { code: 'RATE_LIMITED', retryAfter: 20 },
    });
    expect(await stateOf('amy')).toEqual(before);

    // The event id was not used up: once the budget is back the same call applies, for the first time.
    nowMs += 20_000;
    expect(ok(await t.gql(COMPLETE, { variables: { lesson: lesson(4), e: 'amy-4' }, token })).completeLesson).toEqual({ xpAwarded: 10, totalXp: 40 });
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(5) }, token })).errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 20 });
  });

  it('each have their own budget (enroll, submitQuizAttempt, recordWatchTime), refused the same way', async () => {
    nextMinute();
    const token = await tokenFor('ben');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    for (let i = 0; i < PER_MINUTE; i += 1) ok(await t.gql(QUIZ, { variables: { q: 'rl-m1-q1' }, token }));
    for (let i = 0; i < PER_MINUTE; i += 1) ok(await t.gql(WATCH, { variables: { lesson: lesson(1) }, token }));
    const before = await stateOf('ben');
    expect(before.attempts).toBe(3);
    for (const [query, variables] of [
      [QUIZ, { q: 'rl-m1-q1' }],
      [WATCH, { lesson: lesson(1) }],
    ] as const) {
      expect((await t.gql(query, { variables, token })).errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 20 });
    }
    // enroll has a budget of its own, still holding 2 (an ALREADY_ENROLLED answer costs one too).
    expect((await t.gql(ENROLL, { variables: { c: 'rl' }, token })).errors![0]!.extensions!.code).toBe('ALREADY_ENROLLED');
    expect((await t.gql(ENROLL, { variables: { c: 'rl' }, token })).errors![0]!.extensions!.code).toBe('ALREADY_ENROLLED');
    expect((await t.gql(ENROLL, { variables: { c: 'rl' }, token })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect(await stateOf('ben')).toEqual(before);
  });

  it('come back as the window refills: one action every 20 s at 3 a minute, never more than 3 at once', async () => {
    nextMinute();
    const token = await tokenFor('cal');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    let n = 1;
    for (let i = 0; i < PER_MINUTE; i += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++) }, token }));
    nowMs += 19_000;
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token })).errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
    nowMs += 1_000;
    ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++) }, token }));
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    // An hour idle refills 3, not 180.
    nowMs += 3_600_000;
    for (let i = 0; i < PER_MINUTE; i += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++) }, token }));
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect(ok(await t.gql(ME, { token })).me.totalXp).toBe(70);
  });

  it("are counted per learner: one learner's spent budget leaves another's whole", async () => {
    nextMinute();
    const [dee, eve] = await Promise.all([tokenFor('dee'), tokenFor('eve')]);
    for (const token of [dee, eve]) ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    for (let n = 1; n <= PER_MINUTE; n += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token: dee }));
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(4) }, token: dee })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    for (let n = 1; n <= PER_MINUTE; n += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token: eve }));
  });

  it('keep their budgets in Redis under the key prefix, each expiring once full again', async () => {
    nextMinute();
    const token = await tokenFor('fay');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    const key = t.app.keys.rateBucket('fay', 'enroll', 'learner');
    expect(key.startsWith(env.keyPrefix)).toBe(true);
    // One of 3 taken: full again in 20 s (of real time on the Redis server).
    const ttl = await t.app.redis.pttl(key);
    expect(ttl).toBeGreaterThan(15_000);
    expect(ttl).toBeLessThanOrEqual(20_000);
    // Every bucket the earlier tests used is still there (the clock of Redis has not refilled them), with a TTL.
    const used = [
      ['amy', 'completeLesson'],
      ['ben', 'submitQuizAttempt'],
      ['ben', 'recordWatchTime'],
      ['ben', 'enroll'],
      ['cal', 'completeLesson'],
      ['dee', 'completeLesson'],
    ] as const;
    for (const [learnerId, action] of used) {
      const k = t.app.keys.rateBucket(learnerId, action, 'learner');
      expect(await t.app.redis.pttl(k), k).toBeGreaterThan(0);
    }
  });
});

describe('service callers', () => {
  it('have a budget of their own for each learner, SERVICE_FACTOR times larger, apart from the learner\'s own', async () => {
    nextMinute();
    const token = await tokenFor('gus');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    let n = 1;
    for (let i = 0; i < PER_MINUTE; i += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++) }, token }));
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(n) }, token })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    // The learner's spent budget does not hold the service back, and the service's calls do not spend the learner's.
    for (let i = 0; i < PER_MINUTE * SERVICE_FACTOR; i += 1) ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++), l: 'gus' }, token: service }));
    const refused = await t.gql(COMPLETE, { variables: { lesson: lesson(n), l: 'gus' }, token: service });
    expect(refused.errors![0]).toMatchObject({
      message: 'Too many lesson completions for learner "gus" in a short time (at most 6 a minute); try again in 10 s.',
      extensions: { code: 'RATE_LIMITED', retryAfter: 10 },
    });
    // An admin token counts as a service caller, and the same service acting for someone else is not limited by gus.
    expect((await t.gql(COMPLETE, { variables: { lesson: lesson(n), l: 'gus' }, token: admin })).errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    ok(await t.gql(ENROLL, { variables: { c: 'rl', l: 'hal' }, token: service }));
    ok(await t.gql(COMPLETE, { variables: { lesson: lesson(1), l: 'hal' }, token: service }));
    nowMs += 20_000;
    ok(await t.gql(COMPLETE, { variables: { lesson: lesson(n++) }, token }));
  });
});

describe('recordEvents', () => {
  const at = () => new Date(nowMs - 60_000).toISOString();
  const completion = (id: string, n: number, learnerId?: string) => ({ id, type: 'LESSON_COMPLETED', lessonId: lesson(n), occurredAt: at(), ...(learnerId ? { learnerId } : {}) });

  it("counts each learner's events: those past the budget are rejected one by one with RATE_LIMITED, the rest applied", async () => {
    nextMinute();
    const token = await tokenFor('ivy');
    ok(await t.gql(ENROLL, { variables: { c: 'rl' }, token }));
    const events = [
      completion('ivy-1', 1),
      // Refused for what it is, not counted: the budget is for events that could apply.
      { id: 'ivy-bad', type: 'LESSON_COMPLETED', lessonId: 'no-such-lesson', occurredAt: at() },
      ...[2, 3, 4, 5, 6, 7, 8].map((n) => completion(`ivy-${n}`, n)),
    ];
    const got = ok(await t.gql(RECORD, { variables: { e: events }, token })).recordEvents;
    expect(got.accepted).toBe(EVENTS_PER_MINUTE);
    expect(got.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'NOT_FOUND'],
      [6, 'RATE_LIMITED'],
      [7, 'RATE_LIMITED'],
      [8, 'RATE_LIMITED'],
    ]);
    expect(got.rejected[1]).toMatchObject({ id: 'ivy-6', message: 'Too many events for learner "ivy" in a short time (at most 5 a minute); try again in 12 s.' });
    const state = await stateOf('ivy');
    expect(state.me).toMatchObject({ totalXp: 50, enrollment: { progress: { completedLessons: 5 } } });
    expect(state.ledger).toBe(5);

    // Nothing of the refused three was kept: sent again once 3 tokens are back, they apply as new.
    nowMs += 36_000;
    const again = ok(await t.gql(RECORD, { variables: { e: [6, 7, 8, 9].map((n) => completion(`ivy-${n}`, n)) }, token })).recordEvents;
    expect(again).toMatchObject({ accepted: 3, duplicates: 0, rejected: [{ index: 3, id: 'ivy-9', code: 'RATE_LIMITED' }] });
    expect(ok(await t.gql(ME, { token })).me.totalXp).toBe(80);
  });

  it("gives a service caller's batch each learner's service budget, learner by learner", async () => {
    nextMinute();
    for (const l of ['jo', 'kai']) ok(await t.gql(ENROLL, { variables: { c: 'rl', l }, token: service }));
    const budget = EVENTS_PER_MINUTE * SERVICE_FACTOR;
    // jo's 12 and kai's 3, interleaved.
    const events = [
      ...Array.from({ length: 6 }, (_, i) => completion(`jo-${i + 1}`, i + 1, 'jo')),
      ...Array.from({ length: 3 }, (_, i) => completion(`kai-${i + 1}`, i + 1, 'kai')),
      ...Array.from({ length: 6 }, (_, i) => completion(`jo-${i + 7}`, i + 7, 'jo')),
    ];
    const got = ok(await t.gql(RECORD, { variables: { e: events }, token: service })).recordEvents;
    expect(got.accepted).toBe(budget + 3);
    expect(got.rejected.map((r: { id: string; code: string }) => `${r.id} ${r.code}`)).toEqual(['jo-11 RATE_LIMITED', 'jo-12 RATE_LIMITED']);
    // The learner's own budget was not touched by the service's batch.
    const own = ok(await t.gql(RECORD, { variables: { e: [completion('jo-own', 13)] }, token: await tokenFor('jo') })).recordEvents;
    expect(own).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
  });
});
