/**
 * Review 8b: daily goals and period boards, attacked. Each test is a defect found in review
 * (`it.fails` where it is left unfixed, with why).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;
let nowMs = Date.parse('2026-11-20T12:00:00Z');
const clock = { now: () => nowMs };

const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index code message } } }`;
const GOALS_ON = `query($d: Date) { me { totalXp dailyGoals(date: $d) { kind date target current completed } } }`;

let seq = 0;
async function record(events: Record<string, unknown>[]) {
  const res = await t.gql(RECORD, { variables: { e: events.map((e) => ({ id: `r8b-${(seq += 1)}`, ...e })) }, token: service });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  expect(res.data!.recordEvents.rejected).toEqual([]);
  return res.data!.recordEvents;
}

const as = <T = Record<string, any>>(learnerId: string, query: string, variables?: Record<string, unknown>) => t.as<T>(learnerId, query, variables);

async function enroll(learnerId: string) {
  const res = await t.gql(`mutation { enroll(courseId: "rq", learnerId: "${learnerId}") { id } }`, { token: service });
  expect(res.errors).toBeUndefined();
}

const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}`;

/** Logins on days from..to of November (one a day): each makes a day record in the hash. */
async function activeDays(learnerId: string, from: number, to: number) {
  const e = [];
  for (let d = from; d <= to; d += 1) e.push({ type: 'DAILY_LOGIN', occurredAt: `${day(d)}T09:00:00Z`, learnerId });
  await record(e);
}

const quiz = (learnerId: string, d: number, score = 10) => ({ type: 'QUIZ_ATTEMPTED', occurredAt: `${day(d)}T10:00:00Z`, learnerId, quizId: 'rq-m1-q1', score });

beforeAll(async () => {
  t = await startTestApp(env, { app: { clock } });
  service = await tokenFor('svc', ['service']);
  const admin = await tokenFor('admin', ['admin']);
  const res = await t.gql('mutation($c: CourseInput!) { upsertCourse(input: $c) { id } }', { variables: { c: makeCourse({ id: 'rq', modules: 1, lessons: 1, quizzes: 1 }) }, token: admin });
  expect(res.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

async function goalLedger(learnerId: string) {
  await t.app.settle();
  const rows = await t.app.orm.em.getKnex()('xp_transactions').where({ learner_id: learnerId, reason: 'goal_completed' }).orderBy('source_id').select('amount', 'source_id');
  return rows.map((r: any) => [Number(r.amount), r.source_id]);
}

describe('daily goals: a late event for a day older than the hash keeps', () => {
  it('does not pay a goal bonus a second time for a day whose goal already completed (nor award a badge on it)', async () => {
    const id = 'r8b-twice';
    const admin = await tokenFor('admin', ['admin']);
    const badge = { id: 'r8b-two-goals', name: 'Two goals', description: 'Two goals', xpReward: 0, criteria: { type: 'goals_completed', value: 2 } };
    expect((await t.gql('mutation($b: BadgeInput!) { upsertBadge(input: $b) { id } }', { variables: { b: badge }, token: admin })).errors).toBeUndefined();
    await enroll(id);
    await record([{ type: 'GOAL_SET', occurredAt: `${day(1)}T08:30:00Z`, learnerId: id, goalKind: 'QUIZZES', target: 1 }]);
    await record([quiz(id, 1)]);
    expect(await goalLedger(id)).toEqual([[20, `QUIZZES:${day(1)}`]]);
    // Nine later active days push Nov 1 out of the hash's eight.
    await activeDays(id, 2, 10);
    // A late attempt of Nov 1 (a backfill): the goal of Nov 1 is done already.
    await record([quiz(id, 1, 20)]);
    // Redis paid the bonus again (the ledger refuses it and the hash is repaired later, but the
    // learner saw it, boards moved, and the goals_completed badge it unlocked stays).
    const me = await as(id, `{ me { totalXp badges { badge { id } } } }`);
    expect(me.data!.me).toEqual({ totalXp: 20, badges: [] });
    expect(await goalLedger(id)).toEqual([[20, `QUIZZES:${day(1)}`]]);
    await t.app.settle();
    expect((await as(id, `{ me { totalXp badges { badge { id } } } }`)).data!.me).toEqual({ totalXp: 20, badges: [] });
  });

  it("does not overwrite the day's record in Postgres with the late event's counts alone", async () => {
    const id = 'r8b-lost';
    await enroll(id);
    await record([{ type: 'GOAL_SET', occurredAt: `${day(1)}T08:30:00Z`, learnerId: id, goalKind: 'QUIZZES', target: 5 }]);
    await record([quiz(id, 1), quiz(id, 1, 20), quiz(id, 1, 30)]);
    await activeDays(id, 2, 10);
    await t.app.settle();
    const before = await as(id, GOALS_ON, { d: day(1) });
    expect(before.data!.me.dailyGoals).toEqual([{ kind: 'QUIZZES', date: day(1), target: 5, current: 3, completed: false }]);
    await record([quiz(id, 1, 40)]);
    await t.app.settle();
    const after = await as(id, GOALS_ON, { d: day(1) });
    // 3 attempts, or 4 counting the late one; never 1.
    expect(after.data!.me.dailyGoals[0].current).toBeGreaterThanOrEqual(3);
  });

  it('leaves verify clean for a learner whose events arrive out of order across more than eight days', async () => {
    const id = 'r8b-verify';
    await enroll(id);
    await record([{ type: 'GOAL_SET', occurredAt: `${day(1)}T08:30:00Z`, learnerId: id, goalKind: 'QUIZZES', target: 1 }]);
    await record([quiz(id, 1)]);
    await activeDays(id, 2, 10);
    await record([quiz(id, 1, 20)]);
    await t.app.settle();
    const report = await verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 50, rechecks: 1 });
    expect(report.drift.filter((d) => d.learnerId === id)).toEqual([]);
  });

  // Left unfixed: `gtd` (the day the standing targets apply from) is one for all kinds, so
  // setting one kind's goal hides the other kinds' standing goals on every earlier day without
  // a record yet (a late event for it, or dailyGoals(date)). Needs a day per kind in `gt`.
  it("setting one kind's goal does not take another kind's standing goal off the days before", async () => {
    const id = 'r8b-gtd';
    await enroll(id);
    await record([{ type: 'GOAL_SET', occurredAt: `${day(10)}T08:00:00Z`, learnerId: id, goalKind: 'QUIZZES', target: 1 }]);
    await record([{ type: 'GOAL_SET', occurredAt: `${day(15)}T08:00:00Z`, learnerId: id, goalKind: 'XP', target: 500 }]);
    // A late attempt of Nov 12, when the QUIZZES goal stood: it completes it.
    await record([quiz(id, 12)]);
    const res = await as(id, GOALS_ON, { d: day(12) });
    expect(res.data!.me.dailyGoals).toEqual([{ kind: 'QUIZZES', date: day(12), target: 1, current: 1, completed: true }]);
  });
});

describe('daily goals: GOAL_SET events out of order', () => {
  // Left unfixed: GOAL_SET replaces the standing target and moves `gtd` to its own day whatever
  // the order events arrive in, so a backfilled (or offline-synced) older setting overrides a
  // newer one for today and every day after. Needs the setting's time kept per kind.
  it('an older GOAL_SET arriving late does not replace the newer target', async () => {
    const id = 'r8b-order';
    await record([{ type: 'GOAL_SET', occurredAt: '2026-11-18T08:00:00Z', learnerId: id, goalKind: 'XP', target: 500 }]);
    await record([{ type: 'GOAL_SET', occurredAt: '2026-11-15T08:00:00Z', learnerId: id, goalKind: 'XP', target: 100 }]);
    const res = await as(id, GOALS_ON, { d: null });
    expect(res.data!.me.dailyGoals).toEqual([{ kind: 'XP', date: day(20), target: 500, current: 0, completed: false }]);
  });
});

describe('daily goals and time zones', () => {
  // Left unfixed (a product decision): the learning day follows the zone in force, so a learner
  // who flips their zone from UTC+14 to UTC-12 is on "yesterday" again and can complete (and be
  // paid for) the goals of a day they never had, twice within a real hour. A fix would keep a
  // learner's day from moving back before their latest active day for goal purposes.
  it.fails('flipping the time zone back a day does not pay a second goal bonus within the hour', async () => {
    const id = 'r8b-zone';
    await enroll(id);
    const PROFILE = `mutation($i: ProfileInput!) { updateProfile(input: $i) { timeZone } }`;
    const saved = nowMs;
    try {
      nowMs = Date.parse('2026-11-18T12:00:00Z');
      expect((await as(id, `mutation { setDailyGoal(kind: QUIZZES, target: 1) { target } }`)).errors).toBeUndefined();
      nowMs = Date.parse('2026-11-20T10:30:00Z');
      expect((await as(id, PROFILE, { i: { timeZone: 'Pacific/Kiritimati' } })).errors).toBeUndefined();
      nowMs += 60_000;
      expect((await as(id, `mutation { submitQuizAttempt(quizId: "rq-m1-q1", score: 10) { xpAwarded } }`)).errors).toBeUndefined();
      nowMs += 60_000;
      expect((await as(id, PROFILE, { i: { timeZone: 'Pacific/Pago_Pago' } })).errors).toBeUndefined();
      nowMs += 60_000;
      expect((await as(id, `mutation { submitQuizAttempt(quizId: "rq-m1-q1", score: 10) { xpAwarded } }`)).errors).toBeUndefined();
    } finally {
      nowMs = saved;
    }
    expect(await goalLedger(id)).toHaveLength(1);
  });
});
