import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migration20261126120000_activity } from '../migrations/Migration20261126120000_activity';
import { outboxEntrySchema, type OutboxEntry } from '../src/store/outbox/entry';
import { writeEntries } from '../src/store/outbox/postgres/write';
import { ActivityRepository } from '../src/store/pg/activity';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, makeCourse, newTestEnv, outboxEntries, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "ac": 1 module of 3 lessons (VIDEO, READING, CHALLENGE; 50 XP, 300 s each), one quiz
// (pass at 70, 40 XP). Course "ab": 1 module of 2 lessons, never completed here.
const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }`;
const STATS = `{ me { stats {
  totalWatchTimeSeconds videosCompleted lessonsCompleted quizzesTaken quizzesPassed averageQuizScore
  activeDays sessions totalTimeSeconds coursesEnrolled coursesCompleted completionRate
} } }`;
const CALENDAR = `query($from: Date!, $to: Date!) { me { activityCalendar(from: $from, to: $to) { date xp events timeSpentSeconds } } }`;
const RECENT = `query($first: Int, $after: String) { me { recentActivity(first: $first, after: $after) {
  edges { cursor node { id type description occurredAt xp } } pageInfo { hasNextPage endCursor }
} } }`;

type Ev = { id: string; type: string; occurredAt: string; learnerId: string; lessonId?: string; quizId?: string; score?: number; watchedSeconds?: number };

async function record(events: Ev[]) {
  const res = await t.gql(RECORD, { variables: { e: events }, token: service });
  expect(res.errors).toBeUndefined();
  expect(res.data!.recordEvents.rejected).toEqual([]);
  return res.data!.recordEvents;
}

async function enroll(learnerId: string, courseId = 'ac') {
  const res = await t.gql('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { c: courseId, l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

async function me<T = any>(learnerId: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await t.gql(query, { variables, token: await tokenFor(learnerId) });
  expect(res.errors).toBeUndefined();
  return res.data!.me as T;
}

/** Every row of the three activity tables, in a stable order (learner ids starting with `prefix`). */
async function activityTables(prefix = '') {
  const knex = t.app.orm.em.getKnex();
  const like = `${prefix}%`;
  return {
    activities: await knex('activities')
      .select('event_key', 'learner_id', 'kind', 'target', 'course_id', 'value', 'xp', 'occurred_at', knex.raw('day::text as day'))
      .where('learner_id', 'like', like)
      .orderBy('event_key'),
    days: await knex('activity_days').select('learner_id', knex.raw('day::text as day'), 'xp', 'events', 'sessions', 'seconds').where('learner_id', 'like', like).orderBy(['learner_id', 'day']),
    totals: await knex('learner_activity').select('*').where('learner_id', 'like', like).orderBy('learner_id'),
  };
}

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'ac', modules: 1, lessons: 3, quizzes: 1, xp: 50 }));
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'ab', modules: 1, lessons: 2 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('activity history, the calendar and stats', () => {
  it('puts backfilled events on their own days, counts sessions per day, and LESSON_ACCESSED completes nothing', async () => {
    const id = 'ac-ana';
    await enroll(id);
    await record([
      { id: 'e1', type: 'LESSON_COMPLETED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id, lessonId: 'ac-l2' },
      { id: 'e2', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:10:00Z', learnerId: id, lessonId: 'ac-l1' },
      { id: 'e3', type: 'VIDEO_PROGRESS', occurredAt: '2025-03-10T11:10:00Z', learnerId: id, lessonId: 'ac-l1', watchedSeconds: 120 },
      { id: 'e4', type: 'QUIZ_ATTEMPTED', occurredAt: '2025-03-11T23:50:00Z', learnerId: id, quizId: 'ac-m1-q1', score: 80 },
      { id: 'e5', type: 'VIDEO_STARTED', occurredAt: '2025-03-12T00:05:00Z', learnerId: id, lessonId: 'ac-l1' },
    ]);

    const cal = await me(id, CALENDAR, { from: '2025-03-09', to: '2025-03-13' });
    expect(cal.activityCalendar).toEqual([
      { date: '2025-03-09', xp: 0, events: 0, timeSpentSeconds: 0 },
      // 09:00 and 09:10: one session of 600 s; 11:10, two hours later: a second of 60 s.
      { date: '2025-03-10', xp: 50, events: 3, timeSpentSeconds: 660 },
      { date: '2025-03-11', xp: 40, events: 1, timeSpentSeconds: 60 },
      // 15 minutes after the quiz, but past midnight: its own day (sessions are per day).
      { date: '2025-03-12', xp: 0, events: 1, timeSpentSeconds: 60 },
      { date: '2025-03-13', xp: 0, events: 0, timeSpentSeconds: 0 },
    ]);

    const recent = await me(id, RECENT, { first: 10 });
    expect(recent.recentActivity.edges.map((e: any) => [e.node.type, e.node.description, e.node.xp])).toEqual([
      ['ENROLLED', 'Enrolled in \u201cCourse ac\u201d', null],
      ['ACCESSED', 'Opened lesson \u201cLesson 1\u201d', null],
      ['QUIZ_ATTEMPTED', 'Scored 80 on quiz \u201cQuiz 1\u201d', 40],
      ['WATCHED', 'Watched 120 s of \u201cLesson 1\u201d', null],
      ['ACCESSED', 'Opened lesson \u201cLesson 1\u201d', null],
      ['LESSON_COMPLETED', 'Completed lesson \u201cLesson 2\u201d', 50],
    ]);
    expect(recent.recentActivity.edges[1].node.occurredAt).toBe('2025-03-12T00:05:00.000Z');
    expect(recent.recentActivity.pageInfo.hasNextPage).toBe(false);

    // Opening a lesson completed nothing and paid nothing.
    const h = await t.app.redis.hgetall(t.app.keys.learner(id));
    expect(h['l:ac-l1']).toBeUndefined();
    expect(h).toMatchObject({ lc: '1', xp: '90', wt: '120' });

    const { stats } = await me(id, STATS);
    expect(stats).toEqual({
      totalWatchTimeSeconds: 120,
      videosCompleted: 0,
      lessonsCompleted: 1,
      quizzesTaken: 1,
      quizzesPassed: 1,
      averageQuizScore: 80,
      // 2025-03-10, -11, -12, and the day of the enrollment (now).
      activeDays: 4,
      sessions: 5,
      totalTimeSeconds: 660 + 60 + 60 + 60,
      coursesEnrolled: 1,
      coursesCompleted: 0,
      // 1 of 3 lessons, 1 of 1 quiz: half of 1/3 plus half of 1.
      completionRate: 0.5 * (1 / 3) + 0.5,
    });
  });

  it('counts a completed course in coursesCompleted and its rate in completionRate', async () => {
    const id = 'ac-gus';
    await enroll(id, 'ab');
    await enroll(id, 'ac');
    for (const lesson of ['ab-l1', 'ab-l2']) {
      const done = await t.gql('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { xpAwarded } }', { variables: { l: id, x: lesson }, token: service });
      expect(done.errors).toBeUndefined();
    }
    const { stats } = await me(id, '{ me { stats { coursesEnrolled coursesCompleted completionRate lessonsCompleted } } }');
    // "ab" complete (1), "ac" untouched (0).
    expect(stats).toEqual({ coursesEnrolled: 2, coursesCompleted: 1, completionRate: 0.5, lessonsCompleted: 2 });
  });

  it('reads stats, the calendar and a page once per request, however many times a query asks', async () => {
    const id = 'ac-ana';
    await t.app.settle();
    const query = `{ me {
      a: stats { activeDays sessions lessonsCompleted completionRate } b: stats { activeDays totalTimeSeconds coursesEnrolled }
      activityCalendar(from: "2025-03-09", to: "2025-03-13") { events } recentActivity(first: 3) { edges { node { type } } }
    } }`;
    const token = await tokenFor(id);
    const redisSent: string[] = [];
    const pgSent: string[] = [];
    const client = t.app.redis as unknown as { sendCommand: (cmd: { name: string }) => unknown };
    const original = client.sendCommand;
    const knex = t.app.orm.em.getKnex();
    const onQuery = (q: { sql: string }) => pgSent.push(q.sql);
    client.sendCommand = function (this: unknown, cmd: { name: string }) {
      redisSent.push(cmd.name);
      return original.call(this, cmd);
    };
    knex.on('query', onQuery);
    let res;
    try {
      res = await t.gql(query, { token });
    } finally {
      client.sendCommand = original;
      knex.off('query', onQuery);
    }
    expect(res.errors).toBeUndefined();
    expect(res.data!.me.a).toEqual({ activeDays: 4, sessions: 5, lessonsCompleted: 1, completionRate: 0.5 * (1 / 3) + 0.5 });
    // One HMGET of the stats' counters (and one script read of the enrollments); no flush:
    // Postgres is up to date. (Background work shares the connection: count what reads send.)
    expect(redisSent.filter((c) => c === 'hmget')).toHaveLength(1);
    // The totals row (the barrier, read once: a flush would read it twice), the calendar's days, the page.
    expect(pgSent.filter((sql) => /activit|learners/.test(sql))).toHaveLength(3);
  });

  it('refuses LESSON_ACCESSED for an unknown lesson or a course the learner is not in; takes DAILY_LOGIN (no lesson needed)', async () => {
    const id = 'ac-bo';
    await enroll(id);
    const res = await t.gql(RECORD, {
      variables: {
        e: [
          { id: 'x1', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id, lessonId: 'nope' },
          { id: 'x2', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id, lessonId: 'ab-l1' },
          { id: 'x3', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id },
          { id: 'x4', type: 'DAILY_LOGIN', occurredAt: '2025-03-10T08:00:00Z', learnerId: id },
          { id: 'x5', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id, lessonId: 'ac-l3' },
          { id: 'x5', type: 'LESSON_ACCESSED', occurredAt: '2025-03-10T09:00:00Z', learnerId: id, lessonId: 'ac-l3' },
        ],
      },
      token: service,
    });
    expect(res.errors).toBeUndefined();
    const r = res.data!.recordEvents;
    expect(r.rejected.map((x: { index: number; code: string }) => [x.index, x.code])).toEqual([
      [0, 'NOT_FOUND'],
      [1, 'NOT_ENROLLED'],
      [2, 'BAD_USER_INPUT'],
    ]);
    expect([r.accepted, r.duplicates]).toEqual([2, 1]);
    const recent = await me(id, RECENT);
    expect(recent.recentActivity.edges.map((e: any) => e.node.type)).toEqual(['ENROLLED', 'ACCESSED', 'LOGGED_IN']);
  });

  it("includes the learner's last action, even while the writer has not written it yet (read-your-writes)", async () => {
    const id = 'ac-cy';
    await enroll(id);
    await t.app.settle();
    // With the writer stopped, only the read's own barrier can bring the completion to Postgres.
    await t.app.flusher.stop();
    try {
      const done = await t.gql('mutation($l: ID) { completeLesson(lessonId: "ac-l1", learnerId: $l) { xpAwarded } }', { variables: { l: id }, token: service });
      expect(done.errors).toBeUndefined();
      const knex = t.app.orm.em.getKnex();
      expect(await knex('activities').where({ learner_id: id, kind: 'LESSON_COMPLETED' })).toHaveLength(0);
      const got = await me(id, `{ me { stats { lessonsCompleted videosCompleted activeDays sessions } recentActivity(first: 1) { edges { node { type xp } } } } }`);
      expect(got.stats).toEqual({ lessonsCompleted: 1, videosCompleted: 1, activeDays: 1, sessions: 1 });
      expect(got.recentActivity.edges.map((e: any) => e.node)).toEqual([{ type: 'LESSON_COMPLETED', xp: 50 }]);
    } finally {
      await t.app.flusher.start();
    }
  });

  it('pages newest first with cursors that stay put when new activity arrives between pages', async () => {
    const id = 'ac-di';
    await enroll(id);
    const times = ['2025-05-01T10:00:00Z', '2025-05-01T10:05:00Z', '2025-05-01T10:10:00Z', '2025-05-02T10:00:00Z'];
    await record(times.map((at, i) => ({ id: `p${i}`, type: 'LESSON_ACCESSED', occurredAt: at, learnerId: id, lessonId: 'ac-l1' })));
    const page1 = (await me(id, RECENT, { first: 2 })).recentActivity;
    expect(page1.edges.map((e: any) => e.node.occurredAt)).toEqual([expect.any(String), '2025-05-02T10:00:00.000Z']);
    expect(page1.pageInfo.hasNextPage).toBe(true);

    // New activity, now and backfilled before the cursor; then the next page.
    await record([
      { id: 'p-new', type: 'LESSON_ACCESSED', occurredAt: new Date().toISOString(), learnerId: id, lessonId: 'ac-l2' },
      { id: 'p-old', type: 'LESSON_ACCESSED', occurredAt: '2025-04-30T10:00:00Z', learnerId: id, lessonId: 'ac-l2' },
    ]);
    const page2 = (await me(id, RECENT, { first: 2, after: page1.pageInfo.endCursor })).recentActivity;
    expect(page2.edges.map((e: any) => e.node.occurredAt)).toEqual(['2025-05-01T10:10:00.000Z', '2025-05-01T10:05:00.000Z']);
    const page3 = (await me(id, RECENT, { first: 5, after: page2.pageInfo.endCursor })).recentActivity;
    expect(page3.edges.map((e: any) => e.node.occurredAt)).toEqual(['2025-05-01T10:00:00.000Z', '2025-04-30T10:00:00.000Z']);
    expect(page3.pageInfo.hasNextPage).toBe(false);
    const ids = [...page1.edges, ...page2.edges, ...page3.edges].map((e: any) => e.node.id);
    expect(new Set(ids).size).toBe(6);

    // first: 0 answers nothing, with a next page.
    const none = (await me(id, RECENT, { first: 0 })).recentActivity;
    expect(none).toEqual({ edges: [], pageInfo: { hasNextPage: true, endCursor: null } });
  });

  it('answers BAD_USER_INPUT for a reversed or too long range, a page over 100 and a cursor it did not hand out', async () => {
    const token = await tokenFor('ac-eve');
    const ask = async (query: string, variables: Record<string, unknown>) => {
      const res = await t.gql(query, { variables, token });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors![0]!.message).not.toMatch(/\bat .*\.ts/);
      return res.errors![0]!.message;
    };
    expect(await ask(CALENDAR, { from: '2025-03-10', to: '2025-03-09' })).toMatch(/after/);
    expect(await ask(CALENDAR, { from: '2025-01-01', to: '2026-01-02' })).toMatch(/366/);
    await ask(CALENDAR, { from: '2025-02-30', to: '2025-03-09' });
    await ask(RECENT, { first: 101 });
    await ask(RECENT, { first: -1 });
    await ask(RECENT, { after: 'garbage' });
    await ask(RECENT, { after: Buffer.from('123:not-a-uuid').toString('base64url') });
    // A leap year's 366 days are fine, zero-filled for a learner nobody has seen.
    const year = await me('ac-eve', CALENDAR, { from: '2024-01-01', to: '2024-12-31' });
    expect(year.activityCalendar).toHaveLength(366);
    expect(year.activityCalendar[59]).toEqual({ date: '2024-02-29', xp: 0, events: 0, timeSpentSeconds: 0 });
    const { stats } = await me('ac-eve', STATS);
    expect(stats).toMatchObject({ activeDays: 0, sessions: 0, totalTimeSeconds: 0, averageQuizScore: null, coursesEnrolled: 0, completionRate: 0 });
  });

  it('keeps one day right when two writers write its events at once', async () => {
    const id = 'ac-fin';
    await enroll(id);
    await t.app.settle();
    await t.app.flusher.stop();
    let entries: OutboxEntry[];
    try {
      // Every 5 minutes from 08:00 to 09:55: one session of 6900 s; and 12:00, a second.
      const times = [...Array.from({ length: 24 }, (_, i) => Date.parse('2025-06-01T08:00:00Z') + i * 300_000), Date.parse('2025-06-01T12:00:00Z')];
      await record(times.map((at, i) => ({ id: `f${i}`, type: 'LESSON_ACCESSED', occurredAt: new Date(at).toISOString(), learnerId: id, lessonId: 'ac-l1' })));
      entries = (await outboxEntries(t.app)).filter((e) => e.data.l === id && e.data.k === 'accessed');
      expect(entries).toHaveLength(25);
      const knex = t.app.orm.em.getKnex();
      const odd = entries.filter((_, i) => i % 2 === 1);
      const even = entries.filter((_, i) => i % 2 === 0);
      const [a, b] = await Promise.all([writeEntries(knex, odd, 10_000), writeEntries(knex, even, 10_000)]);
      expect(a.activities + b.activities).toBe(25);
    } finally {
      await t.app.flusher.start();
    }
    await t.app.settle();
    const cal = await me(id, CALENDAR, { from: '2025-06-01', to: '2025-06-01' });
    expect(cal.activityCalendar).toEqual([{ date: '2025-06-01', xp: 0, events: 25, timeSpentSeconds: 6900 + 60 }]);
    const { stats } = await me(id, '{ me { stats { activeDays sessions totalTimeSeconds } } }');
    // The enrollment's day (now) is a day of its own.
    expect(stats).toEqual({ activeDays: 2, sessions: 3, totalTimeSeconds: 6900 + 60 + 60 });
  });

  it('changes nothing when entries are written again, and agrees with the migration backfill', async () => {
    await t.app.settle();
    const before = await activityTables('ac-');
    expect(before.activities.length).toBeGreaterThan(10);
    const knex = t.app.orm.em.getKnex();
    // The outbox is trimmed once read: the event log holds every entry as written.
    const logged = (await knex('learner_events').select('payload').where('learner_id', 'like', 'ac-%')) as { payload: unknown }[];
    const entries: OutboxEntry[] = logged.map((r, i) => ({ stream: 'replay', partition: 0, id: `1-${i}`, data: outboxEntrySchema.parse(r.payload), json: JSON.stringify(r.payload) }));
    expect(entries.length).toBe(before.activities.length);
    const again = await writeEntries(knex, [...entries].reverse(), 10_000);
    expect(again.activities).toBe(0);
    expect(await activityTables('ac-')).toEqual(before);

    // The backfill from the event log rebuilds the same rows.
    await knex.raw('delete from activities; delete from activity_days; delete from learner_activity;');
    for (const sql of Migration20261126120000_activity.BACKFILL) await knex.raw(sql);
    expect(await activityTables('ac-')).toEqual(before);
  });

  it('is checked by verify: clean after the runs above, drift for a corrupted total', async () => {
    const activity = new ActivityRepository(t.app.orm);
    const run = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo, activity }, { recheckDelayMs: 100 });
    expect((await run()).drift).toEqual([]);
    const knex = t.app.orm.em.getKnex();
    await knex('learner_activity').where({ learner_id: 'ac-ana' }).increment('sessions', 1);
    expect((await run()).drift).toEqual([{ learnerId: 'ac-ana', what: 'activity totals: sessions 6 vs 5 over the days' }]);
    await knex('learner_activity').where({ learner_id: 'ac-ana' }).decrement('sessions', 1);
  });
});
