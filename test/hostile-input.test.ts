import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type GqlResult, type TestApp } from './harness';

// Property-based: every served mutation gets hostile arguments through the real HTTP server
// (huge, negative and fractional numbers, NUL and other controls, lone surrogates, bidi and
// invisible characters, 10,000-character strings, wrong types through variables). Each case
// must be refused with a clean code (never INTERNAL_SERVER_ERROR, a stack trace or HTTP 500)
// and leave everything a client or the write-behind could see unchanged.
const env = newTestEnv();
let t: TestApp;
let learner: string;
let service: string;
let admin: string;
const RUNS = Number(process.env.PROPERTY_RUNS ?? 40);
let cases = 0;

const course = makeCourse({ id: 'hx', modules: 1, lessons: 3, quizzes: 1 });
const badge = { id: 'hx-first', name: 'First step', description: 'One lesson done', criteria: { type: 'lessons_completed', value: 1 }, xpReward: 10 };

/** Codes a refusal may carry; anything else (INTERNAL_SERVER_ERROR) is a defect. */
const CLEAN = new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'FORBIDDEN', 'NOT_ENROLLED', 'ALREADY_COMPLETED', 'ALREADY_ENROLLED', 'UNSUPPORTED_EVENT_TYPE', 'BAD_REQUEST', 'QUERY_TOO_LARGE']);

// --- Generators ------------------------------------------------------------------------------

/** Characters an id never holds. */
const ID_POISON = ['\u0000', '\u0001', '\u001b', '\u007f', '\u0085', '\u009f', '\ud800', '\udbff', '\udc00', '\udfff', '\ufffd', '\uffff', '\u202a', '\u202e', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c', '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u3164', ' ', '\n', '\u2028', '\u{e0041}', 'e\u0301'];
/** Characters a display text never holds between two letters. */
const TEXT_POISON = ['\u0000', '\u0001', '\u0008', '\u001b', '\u007f', '\u0085', '\ud800', '\udfff', '\ufffd', '\uffff', '\u202a', '\u202e', '\u2066', '\u2069', '\u200e', '\u200f', '\u061c', '\u200b', '\u2060', '\ufeff', '\u00ad', '\u{e0041}'];
/** Well-formed text around the poison: ASCII, any grapheme (astral, combining marks), raw code points. */
const anyText = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme-composite', maxLength: 8 }));

/** A string holding at least one poison character, between visible ones. */
function poisoned(poison: string[]) {
  return fc.tuple(anyText, fc.constantFrom(...poison), anyText).map(([a, p, b]) => `a${a}${p}${b}z`);
}

/** An id no learner, event or catalog thing may have: poisoned, empty, or 10,000+ characters long. */
const badId = fc.oneof(
  poisoned(ID_POISON),
  fc.constant(''),
  fc.integer({ min: 201, max: 12_000 }).map((n) => 'x'.repeat(n)),
  fc.tuple(fc.constantFrom(...ID_POISON), fc.integer({ min: 1, max: 10_000 })).map(([p, n]) => p.repeat(n)),
);
/** A title or name that must be refused. */
const badText = fc.oneof(poisoned(TEXT_POISON), fc.constantFrom('', '   ', '\u200b'), fc.integer({ min: 201, max: 12_000 }).map((n) => 'é'.repeat(n)));
/** Numbers no Int field takes: negative, past 32 bits, fractional. */
const badInt = fc.oneof(
  fc.integer({ max: -1 }),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, -0.000001),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
);
/** For required Int fields: also NaN and Infinity, which JSON carries as null. */
const badRequiredInt = fc.oneof(badInt, fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY));
/** For XP rewards: also past the largest reward (100,000). */
const badXp = fc.oneof(badRequiredInt, fc.integer({ min: 100_001, max: 2 ** 31 - 1 }));
/** A value of the wrong type for a scalar variable. */
const wrongType = fc.oneof(
  fc.boolean(),
  fc.double(),
  fc.array(fc.string(), { minLength: 1, maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  // Objects and lists, but never the empty list: where a list is expected, [] is a valid value.
  fc.jsonValue({ maxDepth: 6 }).filter((v) => typeof v === 'object' && v !== null && !(Array.isArray(v) && v.length === 0)),
);

// --- Running a case ---------------------------------------------------------------------------

interface Sent {
  status: number;
  text: string;
  body: GqlResult;
}

/** One operation over real HTTP. NaN and Infinity go as JSON null, as any client would send them. */
async function send(query: string, variables: Record<string, unknown>, token: string): Promise<Sent> {
  cases += 1;
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as GqlResult };
}

/** What a client or the write-behind could see change: catalog, the learner, boards, Postgres rows, the outbox. */
async function snapshot(): Promise<string> {
  const read = await t.gql(
    `{ courses { id title description lessonCount quizCount totalXp modules { id title lessons { id title kind durationSeconds xpReward } quizzes { id title passScore xpReward } } }
       badges { id name description imageUrl criteria xpReward } levels { level name minXp }
       me { totalXp enrollments { course { id } progress { completedLessons passedQuizzes watchTimeSeconds } } quizAttempts { quizId score attemptNumber } badges { badge { id } } xpHistory(first: 100) { edges { node { id amount } } } }
       leaderboard(first: 100) { totalCount entries { learner { id } } } }`,
    { token: learner },
  );
  const knex = t.app.orm.em.getKnex();
  const rows = await knex.raw(
    `select (select count(*) from courses) c, (select count(*) from lessons) l, (select count(*) from badges) b, (select count(*) from level_table) lv,
            (select count(*) from learners) lr, (select count(*) from enrollments) e, (select count(*) from xp_transactions) x, (select count(*) from learner_events) ev,
            (select count(*) from quiz_attempts) qa`,
  );
  // Every change a script applies appends an outbox entry; trimming never moves the last id.
  const outbox = await Promise.all(
    t.app.keys.allPartitions().map(async (p) => {
      const info = (await t.app.redis.xinfo('STREAM', t.app.keys.outbox(p)).catch(() => null)) as unknown[] | null;
      return info ? String(info[info.indexOf('last-generated-id') + 1]) : 'none';
    }),
  );
  return JSON.stringify({ read, rows: rows.rows, outbox });
}

/** The case was refused cleanly: codes from CLEAN, no stack, no 500, short escaped messages. */
function expectCleanRefusal(sent: Sent, what: unknown): void {
  const context = JSON.stringify(what).slice(0, 300);
  expect(sent.status, context).not.toBe(500);
  expect(sent.text, context).not.toMatch(/\n\s+at |INTERNAL_SERVER_ERROR|Syntax Error: Token limit/);
  const errors = sent.body.errors ?? [];
  expect(errors.length, `expected a refusal for ${context}`).toBeGreaterThan(0);
  for (const e of errors) {
    expect(CLEAN.has(String(e.extensions?.code)), `${e.extensions?.code}: ${e.message} for ${context}`).toBe(true);
    expect(e.message.length, e.message).toBeLessThanOrEqual(400);
    // Whatever was sent is never echoed raw: no controls, bidi controls or lone surrogates.
    expect(e.message, e.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    if (e.extensions?.code === 'BAD_USER_INPUT') expect(typeof e.extensions.field, `field of ${e.message}`).toBe('string');
  }
}

/** Run a property whose every case must be refused and change nothing. */
async function refusedUnchanged<T>(arb: fc.Arbitrary<T>, run: (value: T) => Promise<Sent>): Promise<void> {
  const before = await snapshot();
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      expectCleanRefusal(await run(value), value);
    }),
    { numRuns: RUNS },
  );
  await t.app.settle();
  expect(await snapshot()).toBe(before);
}

beforeAll(async () => {
  t = await startTestApp(env);
  [learner, service, admin] = await Promise.all([tokenFor('hx-amy'), tokenFor('lms', ['service']), tokenFor('admin', ['admin'])]);
  expect((await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin })).errors).toBeUndefined();
  expect((await t.gql('mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }', { variables: { i: badge }, token: admin })).errors).toBeUndefined();
  expect((await t.gql('mutation { enroll(courseId: "hx") { id } }', { token: learner })).errors).toBeUndefined();
  expect((await t.gql('mutation { completeLesson(lessonId: "hx-l1") { xpAwarded } }', { token: learner })).errors).toBeUndefined();
  await t.app.settle();
});

afterAll(async () => {
  // eslint-disable-next-line no-console
  console.log(`hostile-input: ${cases} generated cases sent`);
  await t?.stop();
  await destroyTestEnv(env);
});

// --- Properties, one or more per mutation ------------------------------------------------------

const ENROLL = 'mutation($c: ID!, $l: ID, $e: ID) { enroll(courseId: $c, learnerId: $l, eventId: $e) { id } }';
const COMPLETE = 'mutation($lesson: ID!, $l: ID, $e: ID) { completeLesson(lessonId: $lesson, learnerId: $l, eventId: $e) { xpAwarded } }';
const RECORD = 'mutation($ev: [LearningEventInput!]!) { recordEvents(events: $ev) { accepted duplicates rejected { index id code message } } }';
const UPSERT_COURSE = 'mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }';
const UPSERT_BADGE = 'mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }';
const SET_LEVELS = 'mutation($l: [LevelInput!]!) { setLevels(levels: $l) { level } }';
const WATCH = 'mutation($x: ID!, $s: Int!, $l: ID, $e: ID) { recordWatchTime(lessonId: $x, seconds: $s, learnerId: $l, eventId: $e) { watchTimeSeconds completed } }';
const SUBMIT = 'mutation($q: ID!, $s: Int!, $l: ID, $e: ID) { submitQuizAttempt(quizId: $q, score: $s, learnerId: $l, eventId: $e) { xpAwarded attempt { attemptNumber } } }';

describe('hostile arguments are refused cleanly and change nothing', () => {
  it('enroll: bad course ids, event ids and learner ids, as a learner and as a service', async () => {
    const arb = fc.record({
      c: fc.oneof(badId, wrongType),
      e: fc.option(fc.oneof(badId, wrongType), { nil: undefined }),
      l: fc.option(fc.oneof(badId, fc.constant('hx-amy')), { nil: undefined }),
      as: fc.constantFrom('learner', 'service'),
    });
    await refusedUnchanged(arb, ({ as, ...v }) => send(ENROLL, v, as === 'learner' ? learner : service));
  });

  it('enroll and completeLesson: a good course or lesson with a bad event id or learner id', async () => {
    const arb = fc.record({ e: badId, l: fc.option(badId, { nil: undefined }), op: fc.constantFrom('enroll', 'complete') });
    await refusedUnchanged(arb, ({ op, e, l }) =>
      op === 'enroll' ? send(ENROLL, { c: 'hx', e, l }, l ? service : learner) : send(COMPLETE, { lesson: 'hx-l2', e, l }, l ? service : learner),
    );
  });

  it('completeLesson: bad lesson ids and wrong types', async () => {
    const arb = fc.record({ lesson: fc.oneof(badId, wrongType), e: fc.option(fc.oneof(badId, fc.uuid()), { nil: undefined }) });
    await refusedUnchanged(arb, (v) => send(COMPLETE, v, learner));
  });

  it('submitQuizAttempt: bad quiz ids, scores out of 0..100 or of the wrong type, bad event and learner ids', async () => {
    const badScore = fc.oneof(badRequiredInt, fc.integer({ min: 101, max: 2 ** 31 - 1 }), wrongType, fc.constant(null));
    const arb = fc.oneof(
      fc.record({ q: fc.oneof(badId, wrongType), s: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ q: fc.constant('hx-m1-q1'), s: badScore }),
      fc.record({ q: fc.constant('hx-m1-q1'), s: fc.integer({ min: 0, max: 100 }), e: badId }),
      fc.record({ q: fc.constant('hx-m1-q1'), s: fc.integer({ min: 0, max: 100 }), l: badId }),
    );
    await refusedUnchanged(arb, (v) => send(SUBMIT, v, 'l' in v ? service : learner));
  });

  it('recordWatchTime: bad lesson ids, seconds out of 1..duration or of the wrong type, bad event and learner ids', async () => {
    const badSeconds = fc.oneof(badRequiredInt, fc.constant(0), fc.integer({ min: 301, max: 2 ** 31 - 1 }), wrongType, fc.constant(null));
    const arb = fc.oneof(
      fc.record({ x: fc.oneof(badId, wrongType), s: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ x: fc.constant('hx-l1'), s: badSeconds }),
      fc.record({ x: fc.constant('hx-l1'), s: fc.integer({ min: 1, max: 300 }), e: badId }),
      fc.record({ x: fc.constant('hx-l1'), s: fc.integer({ min: 1, max: 300 }), l: badId }),
    );
    await refusedUnchanged(arb, (v) => send(WATCH, v, 'l' in v ? service : learner));
  });

  it('recordEvents: batches of hostile events (and batches past 500) apply nothing', async () => {
    const hostileEvent = fc.record(
      {
        id: fc.oneof(badId, fc.uuid()),
        type: fc.oneof(fc.constantFrom('LESSON_COMPLETED', 'QUIZ_ATTEMPTED', 'VIDEO_PROGRESS', 'GOAL_SET'), badId),
        occurredAt: fc.oneof(
          fc.constantFrom('2026-02-30T10:00:00Z', '1999-12-31T23:59:59Z', '9999-12-31T23:59:59Z', 'now', '', '2026-11-22T24:00:00Z'),
          badId,
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        learnerId: fc.option(badId, { nil: undefined }),
        lessonId: fc.option(fc.oneof(badId, fc.constant('hx-l1')), { nil: undefined }),
        score: fc.option(badInt, { nil: undefined }),
        watchedSeconds: fc.option(badInt, { nil: undefined }),
        target: fc.option(badInt, { nil: undefined }),
      },
      { requiredKeys: ['id', 'type', 'occurredAt'] },
    );
    // A batch is refused whole (a type error, a batch too large) or every event in it is
    // rejected: hx-l1 is already completed, every other lesson id is bad.
    const arb = fc.oneof(
      { weight: 5, arbitrary: fc.array(hostileEvent, { minLength: 1, maxLength: 20 }) },
      { weight: 1, arbitrary: fc.integer({ min: 501, max: 700 }).map((n) => Array.from({ length: n }, (_, i) => ({ id: `big-${i}`, type: 'LESSON_COMPLETED', occurredAt: new Date().toISOString(), lessonId: 'hx-l2' }))) },
    );
    const before = await snapshot();
    await fc.assert(
      fc.asyncProperty(arb, async (events) => {
        const sent = await send(RECORD, { ev: events }, learner);
        const result = sent.body.data?.recordEvents as { accepted: number; duplicates: number; rejected: { code: string; message: string }[] } | undefined;
        if (result) {
          expect(sent.status).toBe(200);
          expect(result.accepted + result.duplicates).toBe(0);
          for (const r of result.rejected) {
            expect(CLEAN.has(r.code), `${r.code}: ${r.message}`).toBe(true);
            expect(r.message.length).toBeLessThanOrEqual(400);
          }
        } else {
          expectCleanRefusal(sent, events.slice(0, 3));
        }
      }),
      { numRuns: RUNS },
    );
    await t.app.settle();
    expect(await snapshot()).toBe(before);
  });

  it('upsertCourse: one hostile field in an otherwise good course', async () => {
    const good = makeCourse({ id: 'hx-new', modules: 2, lessons: 2, quizzes: 1 });
    type Mutation = (c: any) => void;
    const mutations: fc.Arbitrary<Mutation>[] = [
      badId.map((v) => (c) => void (c.id = v)),
      badText.map((v) => (c) => void (c.title = v)),
      poisoned(TEXT_POISON).map((v) => (c) => void (c.description = v)),
      fc.integer({ min: 5001, max: 12_000 }).map((n) => (c) => void (c.description = 'd'.repeat(n))),
      fc.tuple(fc.nat(1), badText).map(([m, v]) => (c) => void (c.modules[m].title = v)),
      fc.tuple(fc.nat(1), fc.nat(1), badId).map(([m, l, v]) => (c) => void (c.modules[m].lessons[l].id = v)),
      fc.tuple(fc.nat(1), fc.nat(1), badText).map(([m, l, v]) => (c) => void (c.modules[m].lessons[l].title = v)),
      fc.tuple(fc.nat(1), fc.nat(1), badXp).map(([m, l, v]) => (c) => void (c.modules[m].lessons[l].xpReward = v)),
      fc.tuple(fc.nat(1), fc.nat(1), fc.oneof(badInt, fc.constantFrom(0, 86_401))).map(([m, l, v]) => (c) => void (c.modules[m].lessons[l].durationSeconds = v)),
      fc.tuple(fc.nat(1), fc.nat(1), fc.oneof(badId, wrongType)).map(([m, l, v]) => (c) => void (c.modules[m].lessons[l].kind = v)),
      fc.tuple(fc.nat(1), fc.oneof(badRequiredInt, fc.constant(101))).map(([m, v]) => (c) => void (c.modules[m].quizzes[0].passScore = v)),
      fc.tuple(fc.nat(1), wrongType).map(([m, v]) => (c) => void (c.modules[m].lessons = v)),
      fc.constant((c: any) => void (c.modules[1].lessons[0].id = c.modules[0].lessons[0].id)),
      fc.constant((c: any) => void (c.modules[0].lessons[0].id = 'hx-l1')),
      fc.integer({ min: 201, max: 400 }).map((n) => (c) => void (c.modules[0].lessons = Array.from({ length: n }, (_, i) => ({ id: `hx-big-${i}`, title: 'L', kind: 'VIDEO', xpReward: 1 })))),
      wrongType.map((v) => (c) => void (c.modules = v)),
    ];
    const arb = fc.oneof(...mutations).map((mutate) => {
      const c = structuredClone(good) as any;
      mutate(c);
      return c;
    });
    await refusedUnchanged(arb, (i) => send(UPSERT_COURSE, { i }, admin));
  });

  it('upsertBadge: hostile names, descriptions, image URLs and criteria (random JSON, deep, wide)', async () => {
    const nested = (depth: number) => {
      let c: unknown = { type: 'xp_total', value: 1 };
      for (let i = 0; i < depth; i += 1) c = { any: [c] };
      return c;
    };
    const badCriteria = fc.oneof(
      fc.jsonValue({ maxDepth: 8 }),
      fc.integer({ min: 4, max: 2000 }).map(nested),
      fc.integer({ min: 33, max: 3000 }).map((n) => ({ all: Array.from({ length: n }, () => ({ type: 'xp_total', value: 1 })) })),
      fc.record({ type: fc.constantFrom('xp_total', 'lessons_completed'), value: fc.oneof(badRequiredInt, fc.constant(0)) }),
      fc.record({ type: fc.constant('lessons_completed'), value: fc.constant(1), course_id: badId }),
      fc.record({ type: fc.constant('xp_total'), value: fc.constant(1), extra: anyText }),
    );
    const base = { id: 'hx-new-badge', name: 'New', description: null, imageUrl: null, criteria: { type: 'xp_total', value: 5 }, xpReward: 5 };
    const arb = fc.oneof(
      badId.map((id) => ({ ...base, id })),
      badText.map((name) => ({ ...base, name })),
      poisoned(TEXT_POISON).map((description) => ({ ...base, description })),
      fc.oneof(poisoned(ID_POISON).map((p) => `https://img.example/${p}.png`), fc.constantFrom('javascript:alert(1)', 'ftp://x/y', 'not a url', `https://x/${'a'.repeat(2001)}`)).map((imageUrl) => ({ ...base, imageUrl })),
      badCriteria.map((criteria) => ({ ...base, criteria })),
      fc.oneof(badInt, fc.integer({ min: 100_001, max: 2 ** 31 - 1 })).map((xpReward) => ({ ...base, xpReward })),
      wrongType.map((name) => ({ ...base, name })),
    );
    await refusedUnchanged(arb, (i) => send(UPSERT_BADGE, { i }, admin));
  });

  it('setLevels: tables that are empty, too long, unordered, or with bad names and numbers', async () => {
    const row = fc.record({ level: fc.nat(50), minXp: fc.nat(10_000), name: fc.option(anyText, { nil: undefined }) });
    const arb = fc.oneof(
      fc.constant([]),
      fc.array(row, { minLength: 2, maxLength: 8 }).map((rows) => [{ level: 0, minXp: 0 }, ...rows, { level: 0, minXp: 0 }]),
      badText.map((name) => [{ level: 0, minXp: 0, name }]),
      badRequiredInt.map((minXp) => [{ level: 0, minXp: 0 }, { level: 1, minXp }]),
      badRequiredInt.map((level) => [{ level, minXp: 0 }]),
      fc.integer({ min: 1, max: 1e6 }).map((minXp) => [{ level: 0, minXp }]),
      fc.integer({ min: 1001, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => ({ level: i, minXp: i * 10 }))),
      wrongType.map((v) => [v]),
    );
    await refusedUnchanged(arb, (l) => send(SET_LEVELS, { l }, admin));
  });

  it('every mutation: variables of the wrong type entirely', async () => {
    const ops = [
      [ENROLL, 'c'],
      [COMPLETE, 'lesson'],
      [RECORD, 'ev'],
      [UPSERT_COURSE, 'i'],
      [UPSERT_BADGE, 'i'],
      [SET_LEVELS, 'l'],
      [SUBMIT, 'q'],
      [SUBMIT, 's'],
      [WATCH, 's'],
    ] as const;
    const arb = fc.tuple(fc.constantFrom(...ops), fc.oneof(wrongType, fc.constant(null), badRequiredInt, fc.string({ unit: 'binary', maxLength: 30 })));
    await refusedUnchanged(arb, ([[query, name], value]) => send(query, { [name]: value }, query === ENROLL || query === COMPLETE || query === RECORD || query === SUBMIT || query === WATCH ? learner : admin));
  });
});

describe('the request itself', () => {
  it('a body that is not JSON, a query past the token limit, limits past their bounds: a code and a plain message', async () => {
    const post = async (body: string) => {
      const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, body: (await res.json()) as GqlResult };
    };
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }), async (body) => {
        cases += 1;
        const r = await post(body);
        expect(r.status).toBe(400);
        expect(r.body.errors).toEqual([{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }]);
      }),
      { numRuns: RUNS },
    );
    for (const body of ['{}', '{"query": null}', '{"variables": {}}']) {
      const none = await post(body);
      expect(none.status).toBe(400);
      expect(none.body.errors).toEqual([{ message: 'The request has no query: send {"query": "..."}.', extensions: { code: 'BAD_REQUEST' } }]);
    }
    const tokens = await post(JSON.stringify({ query: `{ ${'__typename '.repeat(6000)} }` }));
    expect(tokens.body.errors![0]).toMatchObject({ message: 'This query is longer than 5000 tokens; send a shorter one.', extensions: { code: 'QUERY_TOO_LARGE' } });
    const costly = await post(JSON.stringify({ query: `{ ${Array.from({ length: 25 }, (_, i) => `a${i}: leaderboard(first: 100) { entries { learner { badges { badge { id } } } } }`).join(' ')} }` }));
    expect(costly.body.errors![0]!.extensions!.code).toBe('QUERY_TOO_COSTLY');
    expect(costly.body.errors![0]!.message).toMatch(/^This query would cost \d+; at most 5000 is allowed/);
    const long = await post(JSON.stringify({ query: `{ ${'y'.repeat(100_000)} }` }));
    expect(long.body.errors![0]!.message).toBe(`Cannot query field "${'y'.repeat(64)}…" on type "Query".`);
  });

  it('values nested thousands deep in the query text: QUERY_TOO_DEEP, not a stack overflow answered as a masked 500', async () => {
    const post = async (query: string) => {
      const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      return { status: res.status, body: (await res.json()) as GqlResult };
    };
    // Under the token limit: 2 tokens a level. The parser recursed itself out of stack at about 2,000.
    for (const literal of ['['.repeat(2400) + '"a"' + ']'.repeat(2400), '{a:'.repeat(3000) + '1' + '}'.repeat(3000), '['.repeat(200_000)]) {
      const r = await post(`{ learner(id: ${literal}) { id } }`);
      expect(r.body.errors).toEqual([{ message: 'This query nests its values (lists or objects) too deeply to be read; send a flatter one.', extensions: { code: 'QUERY_TOO_DEEP' } }]);
    }
    // Brackets inside strings, block strings and comments do not count.
    const quoted = await post(`{ learner(id: "${'['.repeat(3000)}") { id } } # ${'{'.repeat(3000)}`);
    expect(quoted.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    const block = await post(`{ learner(id: """${'['.repeat(3000)}\\"""""") { id } }`);
    expect(block.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    // An ordinary query is untouched.
    expect((await post('{ courses { id modules { lessons { id } } } }')).body.errors).toBeUndefined();
  });

  it('badge criteria nested 100,000 deep: BAD_USER_INPUT naming the field, not a stack overflow', async () => {
    const deep = `${'{"all":['.repeat(100_000)}{"type":"xp_total","value":1}${']}'.repeat(100_000)}`;
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: `{"query":${JSON.stringify(UPSERT_BADGE)},"variables":{"i":{"id":"deep","name":"Deep","criteria":${deep}}}}`,
    });
    const body = (await res.json()) as GqlResult;
    expect(body.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'i.criteria' } });
    expect((await t.gql('{ badges { id } }')).data!.badges).toEqual([{ id: 'hx-first' }]);
  });

  it('ids that storage would confuse are refused, so they never name one learner', async () => {
    for (const id of ['lone\ud800', 'lone\udfff', 'lone\ufffd', 'jose\u0301', 'ad\u202emin', 'zero\u200bwidth']) {
      const sent = await send(ENROLL, { c: 'hx', l: id }, service);
      expect(sent.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'learnerId' });
      const token = await tokenFor(id);
      const me = await send('{ me { id } }', {}, token);
      expect(me.body.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    }
    const lookup = await send('query($id: ID!) { learner(id: $id) { id } }', { id: `${'x'.repeat(1_000_000)}` }, learner);
    expect(lookup.text.length).toBeLessThan(1000);
    expect(lookup.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });
});
