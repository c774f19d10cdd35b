import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// Two servers on separate databases and prefixes: one takes the events in bulk, the other the
// same accepted events one by one through the mutations; their states must agree.
const bulkEnv = newTestEnv();
const oneEnv = newTestEnv();
let bulk: TestApp;
let one: TestApp;
let service: string;

const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }`;
const COMPLETE = `mutation($lesson: ID!, $l: ID, $id: ID) { completeLesson(lessonId: $lesson, learnerId: $l, eventId: $id) { lessonId xpAwarded totalXp level leveledUp badgesUnlocked { badge { id } } enrollment { xpEarned progress { completedLessons } } } }`;

const course = makeCourse({ id: 'ev', modules: 2, lessons: 6, xpOf: (i) => 10 + i });
const xpOf = new Map(course.modules.flatMap((m) => m.lessons.map((l) => [l.id, l.xpReward] as const)));
const badge = { id: 'ev-three', name: 'Three in', criteria: { type: 'lessons_completed', value: 3, course_id: 'ev' }, xpReward: 25 };

const learners = Array.from({ length: 50 }, (_, i) => `ev-${String(i).padStart(2, '0')}`);
/** The last five never enroll: their completions are NOT_ENROLLED. */
const enrolled = new Set(learners.slice(0, 45));

async function setUp(t: TestApp) {
  const admin = await tokenFor('admin', ['admin']);
  expect((await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin })).errors).toBeUndefined();
  expect((await t.gql('mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }', { variables: { i: badge }, token: admin })).errors).toBeUndefined();
  await Promise.all([...enrolled].map((l) => t.gql('mutation($l: ID) { enroll(courseId: "ev", learnerId: $l) { id } }', { variables: { l }, token: service })));
}

beforeAll(async () => {
  service = await tokenFor('lms', ['service']);
  [bulk, one] = await Promise.all([startTestApp(bulkEnv), startTestApp(oneEnv)]);
  await Promise.all([setUp(bulk), setUp(one)]);
});

afterAll(async () => {
  await Promise.all([bulk?.stop(), one?.stop()]);
  await Promise.all([destroyTestEnv(bulkEnv), destroyTestEnv(oneEnv)]);
});

interface Ev {
  id: string;
  type: string;
  occurredAt: string;
  learnerId?: string;
  lessonId?: string;
  goalKind?: string;
  target?: number;
}

/** A fixed pseudo-random plan, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('recordEvents', () => {
  it('applies 500 events for 50 learners, counting duplicates and rejecting bad events one by one; the state equals the same events applied one by one', async () => {
    const rand = rng(7);
    const lessons = [...xpOf.keys()];
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    // An earlier batch whose ids come back later.
    const earlier: Ev[] = learners.slice(0, 10).map((l, i) => ({ id: `early-${i}`, type: 'LESSON_COMPLETED', occurredAt: iso(now - 3600_000), learnerId: l, lessonId: lessons[0]! }));
    const first = await bulk.gql(RECORD, { variables: { e: earlier }, token: service });
    expect(first.data!.recordEvents).toEqual({ accepted: 10, duplicates: 0, rejected: [] });

    const batch: Ev[] = [];
    for (let i = 0; batch.length < 500; i += 1) {
      const learnerId = learners[Math.floor(rand() * learners.length)]!;
      const r = rand();
      if (r < 0.04 && batch.length) batch.push({ ...batch[Math.floor(rand() * batch.length)]! }); // same id again, in the batch
      else if (r < 0.06) batch.push({ ...earlier[Math.floor(rand() * earlier.length)]! }); // id of an earlier batch
      else if (r < 0.08) batch.push({ id: `b-${i}`, type: 'LESSON_COMPLETED', occurredAt: iso(now), learnerId, lessonId: 'no-such-lesson' });
      else if (r < 0.1) batch.push({ id: `b-${i}`, type: 'LESSON_COMPLETED', occurredAt: iso(now + 3600_000), learnerId, lessonId: lessons[0]! });
      else if (r < 0.11) batch.push({ id: `b-${i}`, type: 'GOAL_SET', occurredAt: iso(now), learnerId, goalKind: 'XP', target: -1 });
      else batch.push({ id: `b-${i}`, type: 'LESSON_COMPLETED', occurredAt: iso(now - Math.floor(rand() * 86_400_000)), learnerId, lessonId: lessons[Math.floor(rand() * lessons.length)]! });
    }

    // The reference: what each event should do, in order, per learner.
    const seen = new Set(earlier.filter((e) => enrolled.has(e.learnerId!)).map((e) => `${e.learnerId}|${e.id}`));
    const done = new Set(earlier.filter((e) => enrolled.has(e.learnerId!)).map((e) => `${e.learnerId}|${e.lessonId}`));
    const expected = { accepted: 0, duplicates: 0, rejected: [] as { index: number; id: string; code: string }[] };
    const applied: Ev[] = [];
    batch.forEach((e, index) => {
      const reject = (code: string) => expected.rejected.push({ index, id: e.id, code });
      // A GOAL_SET with a negative target.
      if (e.type !== 'LESSON_COMPLETED') return reject('BAD_USER_INPUT');
      if (Date.parse(e.occurredAt) > now + 300_000) return reject('BAD_USER_INPUT');
      if (!xpOf.has(e.lessonId!)) return reject('NOT_FOUND');
      if (seen.has(`${e.learnerId}|${e.id}`)) return void (expected.duplicates += 1);
      if (!enrolled.has(e.learnerId!)) return reject('NOT_ENROLLED');
      if (done.has(`${e.learnerId}|${e.lessonId}`)) return reject('ALREADY_COMPLETED');
      seen.add(`${e.learnerId}|${e.id}`);
      done.add(`${e.learnerId}|${e.lessonId}`);
      expected.accepted += 1;
      applied.push(e);
    });
    expect(expected.duplicates).toBeGreaterThan(5);
    expect(new Set(expected.rejected.map((r) => r.code))).toEqual(new Set(['BAD_USER_INPUT', 'NOT_FOUND', 'NOT_ENROLLED', 'ALREADY_COMPLETED']));

    const res = await bulk.gql(RECORD, { variables: { e: batch }, token: service });
    expect(res.errors).toBeUndefined();
    const got = res.data!.recordEvents;
    expect({ accepted: got.accepted, duplicates: got.duplicates }).toEqual({ accepted: expected.accepted, duplicates: expected.duplicates });
    expect(got.rejected.map((r: { index: number; id: string; code: string }) => ({ index: r.index, id: r.id, code: r.code }))).toEqual(expected.rejected);
    for (const r of got.rejected) expect(r.message).toMatch(/^[A-Z].*\.$/);

    // The same accepted events, one by one, through the mutation (with the same event ids).
    for (const e of [...earlier.filter((x) => enrolled.has(x.learnerId!)), ...applied]) {
      const r = await one.gql(COMPLETE, { variables: { lesson: e.lessonId, l: e.learnerId, id: e.id }, token: service });
      expect(r.errors, JSON.stringify(e)).toBeUndefined();
    }

    await Promise.all([bulk.app.settle(), one.app.settle()]);
    const stateOf = async (t: TestApp) => {
      const knex = t.app.orm.em.getKnex();
      const ledger = (await knex('xp_transactions').select('learner_id', 'reason', 'source_id', 'amount').whereIn('learner_id', learners).orderBy(['learner_id', 'reason', 'source_id'])) as Record<string, unknown>[];
      const out: Record<string, unknown> = { ledger: ledger.map((r) => ({ ...r, amount: Number(r.amount) })) };
      for (const l of learners) {
        const me = await t.gql('{ me { totalXp level { level } enrollment(courseId: "ev") { xpEarned progress { completedLessons } } badges { badge { id } } rank { score } courseRank: rank(board: { courseId: "ev" }) { score } } }', {
          token: await tokenFor(l),
        });
        out[l] = me.data!.me;
      }
      return out;
    };
    const [a, b] = await Promise.all([stateOf(bulk), stateOf(one)]);
    expect(a).toEqual(b);
    // And it is the reference's state.
    for (const l of learners) {
      const lessonsDone = [...done].filter((d) => d.startsWith(`${l}|`)).map((d) => d.split('|')[1]!);
      const xp = lessonsDone.reduce((s, id) => s + xpOf.get(id)!, 0) + (lessonsDone.length >= 3 ? 25 : 0);
      expect((a[l] as { totalXp: number }).totalXp, l).toBe(xp);
    }
  });

  it('keeps learners to their own events and to the last 7 days, and refuses a batch over 500', async () => {
    await bulk.gql('mutation { enroll(courseId: "ev", learnerId: "ev-solo") { id } }', { token: service });
    const amy = await tokenFor('ev-solo');
    const now = Date.now();
    const res = await bulk.gql(RECORD, {
      variables: {
        e: [
          { id: 'mine', type: 'LESSON_COMPLETED', occurredAt: new Date(now).toISOString(), lessonId: 'ev-l12' },
          { id: 'theirs', type: 'LESSON_COMPLETED', occurredAt: new Date(now).toISOString(), learnerId: 'ev-01', lessonId: 'ev-l12' },
          { id: 'old', type: 'LESSON_COMPLETED', occurredAt: new Date(now - 8 * 86_400_000).toISOString(), lessonId: 'ev-l11' },
          { id: 'no lesson', type: 'LESSON_COMPLETED', occurredAt: new Date(now).toISOString() },
        ],
      },
      token: amy,
    });
    const got = res.data!.recordEvents;
    expect(got.accepted + got.duplicates).toBe(1);
    expect(got.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'FORBIDDEN'],
      [2, 'BAD_USER_INPUT'],
      [3, 'BAD_USER_INPUT'],
    ]);
    expect(got.rejected[1].message).toMatch(/7 days/);
    // A service may backfill the same old time, and the event keeps it.
    const backfill = await bulk.gql(RECORD, {
      variables: { e: [{ id: 'old-svc', type: 'LESSON_COMPLETED', occurredAt: '2026-01-05T08:30:00.000Z', learnerId: 'ev-44', lessonId: 'ev-l12' }] },
      token: service,
    });
    expect(backfill.data!.recordEvents.rejected).toEqual([]);
    const history = await bulk.gql('{ me { xpHistory(first: 50) { edges { node { sourceId occurredAt } } } } }', { token: await tokenFor('ev-44') });
    expect(history.data!.me.xpHistory.edges.map((e: { node: unknown }) => e.node)).toContainEqual({ sourceId: 'ev-l12', occurredAt: '2026-01-05T08:30:00.000Z' });

    const tooMany = Array.from({ length: 501 }, (_, i) => ({ id: `x${i}`, type: 'DAILY_LOGIN', occurredAt: new Date(now).toISOString() }));
    const big = await bulk.gql(RECORD, { variables: { e: tooMany }, token: service });
    expect(big.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events' });
  });
});

describe('refused events of learners nobody has seen', () => {
  it('leave nothing behind: no Redis hash, no public learner', async () => {
    const strangers = Array.from({ length: 20 }, (_, i) => `ghost-${i}`);
    const res = await bulk.gql(RECORD, {
      variables: { e: strangers.map((l, i) => ({ id: `g${i}`, type: 'LESSON_COMPLETED', occurredAt: new Date().toISOString(), learnerId: l, lessonId: 'ev-l1' })) },
      token: service,
    });
    expect(res.data!.recordEvents.rejected.map((r: { code: string }) => r.code)).toEqual(strangers.map(() => 'NOT_ENROLLED'));
    for (const l of strangers) expect(await bulk.app.redis.exists(bulk.app.keys.learner(l)), l).toBe(0);
    const pub = await bulk.gql('{ learner(id: "ghost-3") { id } }');
    expect(pub.data!.learner).toBeNull();
  });
});

describe('eventId on mutations', () => {
  it('answers a retry with the first result, pays once under 50 concurrent retries, and refuses an id reused for another lesson', async () => {
    const learner = 'ev-05';
    const [first, ...retries] = await Promise.all(
      Array.from({ length: 50 }, () => bulk.gql(COMPLETE, { variables: { lesson: 'ev-l10', l: learner, id: 'retry-me' }, token: service })),
    );
    const all = [first!, ...retries];
    expect(all.filter((r) => r.errors)).toEqual([]);
    const answers = new Set(all.map((r) => JSON.stringify(r.data!.completeLesson)));
    expect(answers.size).toBe(1);
    await bulk.app.settle();
    const knex = bulk.app.orm.em.getKnex();
    expect(await knex('xp_transactions').where({ learner_id: learner, source_id: 'ev-l10' })).toHaveLength(1);

    // Within the window, an id reused for another lesson is refused (a client bug, not a retry).
    const reused = await bulk.gql(COMPLETE, { variables: { lesson: 'ev-l9', l: learner, id: 'retry-me' }, token: service });
    expect(reused.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'eventId' });

    // Past the Redis window (the record gone), the event log in Postgres still knows the id.
    await bulk.app.redis.del(bulk.app.keys.eventRecord(learner, 'retry-me'));
    const late = await bulk.gql(COMPLETE, { variables: { lesson: 'ev-l10', l: learner, id: 'retry-me' }, token: service });
    expect(late.data!.completeLesson).toEqual(first!.data!.completeLesson);

    // Without an id, a repeat is what it always was.
    const plain = await bulk.gql(COMPLETE, { variables: { lesson: 'ev-l10', l: learner }, token: service });
    expect(plain.errors![0]!.extensions!.code).toBe('ALREADY_COMPLETED');
  });

  it('answers a retried enroll with the enrollment, and returns the badges a retried completion unlocked', async () => {
    const token = await tokenFor('ev-newbie');
    const ENROLL = 'mutation($id: ID) { enroll(courseId: "ev", eventId: $id) { id learnerId xpEarned } }';
    const e1 = await bulk.gql(ENROLL, { variables: { id: 'enroll-1' }, token });
    const e2 = await bulk.gql(ENROLL, { variables: { id: 'enroll-1' }, token });
    expect(e2.data).toEqual(e1.data);
    for (const [i, lesson] of ['ev-l1', 'ev-l2'].entries()) await bulk.gql(COMPLETE, { variables: { lesson, id: `c-${i}` }, token });
    const third = await bulk.gql(COMPLETE, { variables: { lesson: 'ev-l3', id: 'c-2' }, token });
    expect(third.data!.completeLesson.badgesUnlocked).toEqual([{ badge: { id: 'ev-three' } }]);
    const again = await bulk.gql(COMPLETE, { variables: { lesson: 'ev-l3', id: 'c-2' }, token });
    expect(again.data!.completeLesson).toEqual(third.data!.completeLesson);
  });
});
