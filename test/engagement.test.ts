import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

// Profiles, time-zone-true learning days and streaks, end to end (API.md "Streaks and days").
// The server's clock is fixed and moved by hand: NOW is 2026-11-20 12:00 UTC unless a test moves it.
const env = newTestEnv();
let t: TestApp;
let service: string;
let nowMs = Date.parse('2026-11-20T12:00:00Z');
const clock = { now: () => nowMs };

const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index code message } } }`;
const PROFILE = `mutation($i: ProfileInput!) { updateProfile(input: $i) { id displayName timeZone } }`;
const STREAK = `{ me { timeZone streak { current longest lastActiveDate activeToday freezesAvailable } } }`;
const CALENDAR = `query($from: Date!, $to: Date!) { me { activityCalendar(from: $from, to: $to) { date events } stats { activeDays } } }`;

let seq = 0;
/** DAILY_LOGIN events of `learnerId` at the given instants (service caller: any past time). */
async function logins(learnerId: string, instants: string[]) {
  const res = await t.gql(RECORD, {
    variables: { e: instants.map((at) => ({ id: `login-${(seq += 1)}`, type: 'DAILY_LOGIN', occurredAt: at, learnerId })) },
    token: service,
  });
  expect(res.errors).toBeUndefined();
  expect(res.data!.recordEvents.rejected).toEqual([]);
}

const as = <T = Record<string, any>>(learnerId: string, query: string, variables?: Record<string, unknown>) => t.as<T>(learnerId, query, variables);

/** Run `f` with the server's clock at `iso`. */
async function at<T>(iso: string, f: () => Promise<T>): Promise<T> {
  const saved = nowMs;
  nowMs = Date.parse(iso);
  try {
    return await f();
  } finally {
    nowMs = saved;
  }
}

async function streakOf(learnerId: string) {
  const res = await as(learnerId, STREAK);
  expect(res.errors).toBeUndefined();
  return res.data!.me.streak;
}

beforeAll(async () => {
  t = await startTestApp(env, { app: { clock } });
  service = await tokenFor('svc', ['service']);
  const admin = await tokenFor('admin', ['admin']);
  for (const c of [makeCourse({ id: 'en', lessons: 3 }), makeCourse({ id: 'eq', modules: 1, lessons: 1, quizzes: 1 })]) {
    const res = await t.gql('mutation($c: CourseInput!) { upsertCourse(input: $c) { id } }', { variables: { c }, token: admin });
    expect(res.errors).toBeUndefined();
  }
  const badge = await t.gql('mutation($b: BadgeInput!) { upsertBadge(input: $b) { id } }', {
    variables: { b: { id: 'steady-ace', name: 'Steady ace', description: 'A 3-day streak and a quiz at 90 or more', xpReward: 25, criteria: { all: [{ type: 'streak_days', value: 3 }, { type: 'quiz_score', min_score: 90 }] } } },
    token: admin,
  });
  expect(badge.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('updateProfile', () => {
  it('sets a trimmed display name and a canonical IANA zone; refuses what is not a zone or not a name, changing nothing', async () => {
    let res = await as('pf-ann', PROFILE, { i: { displayName: '  Ann Lee  ', timeZone: 'europe/berlin' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateProfile).toEqual({ id: 'pf-ann', displayName: 'Ann Lee', timeZone: 'Europe/Berlin' });

    for (const [input, field] of [
      [{ timeZone: 'Mars/Olympus' }, 'input.timeZone'],
      [{ timeZone: '+05:00' }, 'input.timeZone'],
      [{ timeZone: '' }, 'input.timeZone'],
      [{ timeZone: null }, 'input.timeZone'],
      [{ displayName: '   ' }, 'input.displayName'],
      [{ displayName: 'x'.repeat(61) }, 'input.displayName'],
      [{ displayName: 'evil\u202Ename' }, 'input.displayName'],
      [{ displayName: 'a\nb' }, 'input.displayName'],
    ] as const) {
      res = await as('pf-ann', PROFILE, { i: input });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    const after = await as('pf-ann', '{ me { displayName timeZone } }');
    expect(after.data!.me).toEqual({ displayName: 'Ann Lee', timeZone: 'Europe/Berlin' });

    // A field left out is kept; null clears the name.
    res = await as('pf-ann', PROFILE, { i: { displayName: null } });
    expect(res.data!.updateProfile).toEqual({ id: 'pf-ann', displayName: null, timeZone: 'Europe/Berlin' });
  });

  it('shows the display name to others, and keeps name and zone through a reload from Postgres', async () => {
    await as('pf-bob', PROFILE, { i: { displayName: 'Bob', timeZone: 'Asia/Kolkata' } });
    const pub = await t.gql('{ learner(id: "pf-bob") { displayName streak { current } } }', { token: service });
    expect(pub.data!.learner).toEqual({ displayName: 'Bob', streak: { current: 0 } });
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner('pf-bob'));
    const after = await as('pf-bob', '{ me { displayName timeZone } }');
    expect(after.data!.me).toEqual({ displayName: 'Bob', timeZone: 'Asia/Kolkata' });
  });
});

describe('learning days in the learner zone', () => {
  it('puts the same instant on the day each learner lives (UTC vs Pacific/Kiritimati, +14:00)', async () => {
    // A zone applies to events from its change on: set it before the events.
    await at('2026-11-18T00:00:00Z', () => as('tz-kir', PROFILE, { i: { timeZone: 'Pacific/Kiritimati' } }));
    // 2026-11-19 11:00 UTC is 2026-11-20 01:00 in Kiritimati.
    await logins('tz-utc', ['2026-11-19T11:00:00Z']);
    await logins('tz-kir', ['2026-11-19T11:00:00Z']);
    await t.app.settle();
    const range = { from: '2026-11-18', to: '2026-11-21' };
    const utc = await as('tz-utc', CALENDAR, range);
    const kir = await as('tz-kir', CALENDAR, range);
    expect(utc.data!.me.activityCalendar.filter((d: any) => d.events > 0).map((d: any) => d.date)).toEqual(['2026-11-19']);
    expect(kir.data!.me.activityCalendar.filter((d: any) => d.events > 0).map((d: any) => d.date)).toEqual(['2026-11-20']);
    // Kiritimati's "today" is 2026-11-21 at NOW (12:00 UTC = 02:00 next day): yesterday was active.
    expect(await streakOf('tz-kir')).toEqual({ current: 1, longest: 1, lastActiveDate: '2026-11-20', activeToday: false, freezesAvailable: 0 });
  });

  it('a zone change mid-streak neither drops nor double-counts a day; later events use the new zone', async () => {
    const id = 'tz-move';
    // Three UTC days.
    await logins(id, ['2026-11-17T10:00:00Z', '2026-11-18T10:00:00Z', '2026-11-19T10:00:00Z']);
    expect(await streakOf(id)).toMatchObject({ current: 3, lastActiveDate: '2026-11-19' });
    // Moves to New York at NOW (2026-11-20 12:00 UTC = 07:00 there).
    await as(id, PROFILE, { i: { timeZone: 'America/New_York' } });
    // 2026-11-20 13:00 UTC is 08:00 in New York: 2026-11-20 there.
    nowMs = Date.parse('2026-11-20T13:30:00Z');
    try {
      await logins(id, ['2026-11-20T13:00:00Z']);
      // An event from before the move still counts on its UTC day (already counted: no new day).
      await logins(id, ['2026-11-19T23:30:00Z']);
      const s = await streakOf(id);
      expect(s).toEqual({ current: 4, longest: 4, lastActiveDate: '2026-11-20', activeToday: true, freezesAvailable: 0 });
      await t.app.settle();
      const cal = await as(id, CALENDAR, { from: '2026-11-16', to: '2026-11-21' });
      expect(cal.data!.me.activityCalendar.filter((d: any) => d.events > 0).map((d: any) => d.date)).toEqual(['2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20']);
      expect(cal.data!.me.stats.activeDays).toBe(4);
    } finally {
      nowMs = Date.parse('2026-11-20T12:00:00Z');
    }
  });

  it('another server that has not seen the zone change computes the day again (no wrong day from a stale cache)', async () => {
    const id = 'tz-two';
    const other = await startTestApp(env, { app: { clock } });
    try {
      // The other server records first: it has seen the learner in UTC.
      await other.gql(RECORD, { variables: { e: [{ id: 'tt-1', type: 'DAILY_LOGIN', occurredAt: '2026-11-18T12:00:00Z', learnerId: id }] }, token: service });
      await at('2026-11-19T00:00:00Z', () => as(id, PROFILE, { i: { timeZone: 'Pacific/Kiritimati' } }));
      // 2026-11-20 11:00 UTC is 2026-11-21 01:00 in Kiritimati.
      const res = await other.gql(RECORD, { variables: { e: [{ id: 'tt-2', type: 'DAILY_LOGIN', occurredAt: '2026-11-20T11:00:00Z', learnerId: id }] }, token: service });
      expect(res.data!.recordEvents.accepted).toBe(1);
      expect(await streakOf(id)).toMatchObject({ lastActiveDate: '2026-11-21', activeToday: true, current: 1 });
    } finally {
      await other.stop();
    }
  });
});

describe('streaks', () => {
  it('late and out-of-order events give the in-order streak; a late day joining two runs rebuilds it', async () => {
    const inOrder = ['2026-11-14', '2026-11-15', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20'].map((d) => `${d}T09:00:00Z`);
    await logins('st-in', inOrder);
    await logins('st-rev', [...inOrder].reverse());
    const a = await streakOf('st-in');
    expect(a).toEqual({ current: 4, longest: 4, lastActiveDate: '2026-11-20', activeToday: true, freezesAvailable: 0 });
    expect(await streakOf('st-rev')).toEqual(a);
    // The missing 2026-11-16 arrives last: one run of 7, a freeze earned.
    await logins('st-in', ['2026-11-16T22:00:00Z']);
    expect(await streakOf('st-in')).toEqual({ current: 7, longest: 7, lastActiveDate: '2026-11-20', activeToday: true, freezesAvailable: 1 });
  });

  it('a freeze bridges one missed day and not two', async () => {
    const week = ['2026-11-05', '2026-11-06', '2026-11-07', '2026-11-08', '2026-11-09', '2026-11-10', '2026-11-11'].map((d) => `${d}T09:00:00Z`);
    // 2026-11-12 missed, bridged by the week's freeze; then 2026-11-13.
    await logins('st-fz', [...week, '2026-11-13T09:00:00Z']);
    expect(await streakOf('st-fz')).toMatchObject({ current: 0, longest: 8 });
    // Two missed days (11-14 and 11-15 for st-fz2): broken.
    await logins('st-fz2', [...week, '2026-11-14T09:00:00Z']);
    expect(await streakOf('st-fz2')).toMatchObject({ current: 0, longest: 7, freezesAvailable: 1 });
    nowMs = Date.parse('2026-11-14T12:00:00Z');
    try {
      // On 2026-11-14: st-fz's run is alive (13th active, 12th bridged), 8 days, the freeze spent.
      expect(await streakOf('st-fz')).toEqual({ current: 8, longest: 8, lastActiveDate: '2026-11-13', activeToday: false, freezesAvailable: 0 });
      // st-fz2 on 2026-11-14: active today, but 11-12 and 11-13 missed: a new run of 1.
      expect(await streakOf('st-fz2')).toMatchObject({ current: 1, activeToday: true, freezesAvailable: 1 });
    } finally {
      nowMs = Date.parse('2026-11-20T12:00:00Z');
    }
  });

  it('sends StreakUpdated on myEvents for a new active day, not for a second event that day, and completeLesson answers the streak', async () => {
    const id = 'st-live';
    const sub = await subscribe(t.wsUrl, 'subscription { myEvents { __typename ... on StreakUpdated { streak { current activeToday lastActiveDate } } } }', { token: await tokenFor(id) });
    try {
      await logins(id, ['2026-11-19T09:00:00Z']);
      await eventually(() => sub.values.length >= 1, 5000, 'first StreakUpdated');
      const res = await t.gql('mutation { enroll(courseId: "en", learnerId: "st-live") { id } }', { token: service });
      expect(res.errors).toBeUndefined();
      const done = await as(id, 'mutation { completeLesson(lessonId: "en-l1") { streak { current activeToday } } }');
      expect(done.errors).toBeUndefined();
      expect(done.data!.completeLesson.streak).toEqual({ current: 2, activeToday: true });
      await as(id, 'mutation { completeLesson(lessonId: "en-l2") { xpAwarded } }');
      await new Promise((r) => setTimeout(r, 300));
      // Enrolling on 2026-11-20 made the day active (one StreakUpdated); the lessons that day changed nothing.
      expect(sub.values.map((v: any) => v.myEvents).filter((e: any) => e.__typename === 'StreakUpdated')).toEqual([
        { __typename: 'StreakUpdated', streak: { current: 1, activeToday: false, lastActiveDate: '2026-11-19' } },
        { __typename: 'StreakUpdated', streak: { current: 2, activeToday: true, lastActiveDate: '2026-11-20' } },
      ]);
    } finally {
      await sub.close();
    }
  });

  it('hydration rebuilds the streak from activity_days, and verify agrees with Redis', async () => {
    const id = 'st-hyd';
    await logins(id, ['2026-11-17T09:00:00Z', '2026-11-18T09:00:00Z', '2026-11-20T09:00:00Z']);
    const before = await streakOf(id);
    await t.app.settle();
    const hash = await t.app.redis.hgetall(t.app.keys.learner(id));
    await t.app.redis.del(t.app.keys.learner(id));
    expect(await streakOf(id)).toEqual(before);
    const again = await t.app.redis.hgetall(t.app.keys.learner(id));
    for (const f of ['sk', 'sf', 'sl', 'sd', 'ad']) expect(again[f], f).toBe(hash[f]);
    const report = await verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 100 });
    expect(report.drift).toEqual([]);
  });
});

describe('streak badges', () => {
  it('{"all":[streak_days 3, quiz_score 90]} unlocks on the event that completes it, once, under 20 concurrent qualifying attempts', async () => {
    const ATTEMPT = 'mutation { submitQuizAttempt(quizId: "eq-m1-q1", score: 95) { badgesUnlocked { badge { id } } } }';
    for (const id of ['sb-amy', 'sb-ben']) {
      const res = await t.gql(`mutation { enroll(courseId: "eq", learnerId: "${id}") { id } }`, { token: service });
      expect(res.errors).toBeUndefined();
    }
    // Amy was active the two days before today; Ben only yesterday.
    await logins('sb-amy', ['2026-11-18T09:00:00Z', '2026-11-19T09:00:00Z']);
    await logins('sb-ben', ['2026-11-19T09:00:00Z']);
    const token = await tokenFor('sb-amy');
    const results = await Promise.all(Array.from({ length: 20 }, () => t.gql(ATTEMPT, { token })));
    for (const r of results) expect(r.errors).toBeUndefined();
    const unlocked = results.filter((r) => r.data!.submitQuizAttempt.badgesUnlocked.some((b: any) => b.badge.id === 'steady-ace'));
    expect(unlocked.length).toBe(1);
    const held = await as('sb-amy', '{ me { badges { badge { id } } totalXp } }');
    expect(held.data!.me.badges.map((b: any) => b.badge.id)).toEqual(['steady-ace']);
    // The quiz's 40 XP once, the badge's 25 once.
    expect(held.data!.me.totalXp).toBe(65);
    // A 2-day streak with the same score: not yet.
    const ben = await as('sb-ben', ATTEMPT);
    expect(ben.data!.submitQuizAttempt.badgesUnlocked).toEqual([]);
  });
});

describe('daily goals', () => {
  const GOALS = `{ me { totalXp dailyGoals { kind date target current completed } } }`;
  const SET = `mutation($k: GoalKind!, $t: Int!) { setDailyGoal(kind: $k, target: $t) { kind date target current completed } }`;

  it('a LESSONS goal completes once on the lesson that reaches it, pays the bonus once, and says so on myEvents', async () => {
    const id = 'gl-ann';
    await t.gql(`mutation { enroll(courseId: "en", learnerId: "${id}") { id } }`, { token: service });
    const set = await as(id, SET, { k: 'LESSONS', t: 2 });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setDailyGoal).toEqual({ kind: 'LESSONS', date: '2026-11-20', target: 2, current: 0, completed: false });
    const sub = await subscribe(t.wsUrl, 'subscription { myEvents { __typename ... on GoalCompleted { goal { kind target current completed } } ... on XpAwarded { amount reason } } }', { token: await tokenFor(id) });
    try {
      for (const lesson of ['en-l1', 'en-l2', 'en-l3']) expect((await as(id, `mutation { completeLesson(lessonId: "${lesson}") { xpAwarded } }`)).errors).toBeUndefined();
      const goals = await as(id, GOALS);
      // 3 lessons of 50 XP and one bonus of 20.
      expect(goals.data!.me).toEqual({ totalXp: 170, dailyGoals: [{ kind: 'LESSONS', date: '2026-11-20', target: 2, current: 3, completed: true }] });
      await eventually(() => sub.values.some((v: any) => v.myEvents.__typename === 'GoalCompleted'), 5000, 'GoalCompleted');
      await new Promise((r) => setTimeout(r, 200));
      const seen = sub.values.map((v: any) => v.myEvents);
      expect(seen.filter((e: any) => e.__typename === 'GoalCompleted')).toEqual([{ __typename: 'GoalCompleted', goal: { kind: 'LESSONS', target: 2, current: 2, completed: true } }]);
      expect(seen.filter((e: any) => e.reason === 'goal_completed')).toEqual([{ __typename: 'XpAwarded', amount: 20, reason: 'goal_completed' }]);
    } finally {
      await sub.close();
    }
    await t.app.settle();
    const ledger = await t.app.orm.em.getKnex()('xp_transactions').where({ learner_id: id, reason: 'goal_completed' }).select('amount', 'source_id');
    expect(ledger.map((r: any) => [Number(r.amount), r.source_id])).toEqual([[20, 'LESSONS:2026-11-20']]);
  });

  it('a target already reached completes at once; a lower or equal target later pays nothing more; bad targets change nothing', async () => {
    const id = 'gl-ben';
    await t.gql(`mutation { enroll(courseId: "en", learnerId: "${id}") { id } }`, { token: service });
    await as(id, 'mutation { completeLesson(lessonId: "en-l1") { xpAwarded } }');
    const set = await as(id, SET, { k: 'XP', t: 40 });
    expect(set.data!.setDailyGoal).toEqual({ kind: 'XP', date: '2026-11-20', target: 40, current: 50, completed: true });
    expect((await as(id, SET, { k: 'XP', t: 30 })).data!.setDailyGoal.completed).toBe(true);
    for (const [k, target] of [['XP', -1], ['WATCH_MINUTES', 1441], ['QUIZZES', 1001]] as const) {
      const bad = await as(id, SET, { k, t: target });
      expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'target' });
    }
    const goals = await as(id, GOALS);
    expect(goals.data!.me.totalXp).toBe(70);
    expect(goals.data!.me.dailyGoals).toEqual([{ kind: 'XP', date: '2026-11-20', target: 30, current: 50, completed: true }]);
    // 0 removes it.
    await as(id, SET, { k: 'XP', t: 0 });
    expect((await as(id, GOALS)).data!.me.dailyGoals).toEqual([]);
  });

  it('GOAL_SET events, WATCH_MINUTES and QUIZZES goals, a goals_completed badge, and a reload from Postgres that keeps them', async () => {
    const id = 'gl-cat';
    const admin = await tokenFor('admin', ['admin']);
    expect((await t.gql('mutation($b: BadgeInput!) { upsertBadge(input: $b) { id } }', { variables: { b: { id: 'goal-getter', name: 'Goal getter', description: 'Two goals', xpReward: 0, criteria: { type: 'goals_completed', value: 2 } } }, token: admin })).errors).toBeUndefined();
    await t.gql(`mutation { enroll(courseId: "eq", learnerId: "${id}") { id } }`, { token: service });
    const at = '2026-11-20T10:00:00Z';
    const res = await t.gql(RECORD, {
      variables: {
        e: [
          { id: 'gc-1', type: 'GOAL_SET', occurredAt: at, learnerId: id, goalKind: 'WATCH_MINUTES', target: 5 },
          { id: 'gc-2', type: 'GOAL_SET', occurredAt: at, learnerId: id, goalKind: 'QUIZZES', target: 2 },
          { id: 'gc-3', type: 'GOAL_SET', occurredAt: at, learnerId: id, goalKind: 'XP', target: 0 },
          { id: 'gc-4', type: 'GOAL_SET', occurredAt: at, learnerId: id },
          { id: 'gc-5', type: 'VIDEO_PROGRESS', occurredAt: at, learnerId: id, lessonId: 'eq-l1', watchedSeconds: 299 },
          { id: 'gc-6', type: 'QUIZ_ATTEMPTED', occurredAt: at, learnerId: id, quizId: 'eq-m1-q1', score: 10 },
          { id: 'gc-7', type: 'QUIZ_ATTEMPTED', occurredAt: at, learnerId: id, quizId: 'eq-m1-q1', score: 20 },
        ],
      },
      token: service,
    });
    expect(res.data!.recordEvents.rejected.map((r: any) => [r.index, r.code])).toEqual([[3, 'BAD_USER_INPUT']]);
    const before = await as(id, `{ me { dailyGoals { kind target current completed } badges { badge { id } } } }`);
    expect(before.data!.me).toEqual({
      dailyGoals: [
        { kind: 'WATCH_MINUTES', target: 5, current: 4, completed: false },
        { kind: 'QUIZZES', target: 2, current: 2, completed: true },
      ],
      badges: [],
    });
    await t.gql(RECORD, { variables: { e: [{ id: 'gc-8', type: 'VIDEO_PROGRESS', occurredAt: at, learnerId: id, lessonId: 'eq-l1', watchedSeconds: 60 }] }, token: service });
    const after = await as(id, `{ me { dailyGoals { kind current completed } badges { badge { id } } } }`);
    expect(after.data!.me.dailyGoals[0]).toEqual({ kind: 'WATCH_MINUTES', current: 5, completed: true });
    expect(after.data!.me.badges.map((b: any) => b.badge.id)).toEqual(['goal-getter']);
    await t.app.settle();
    const hash = await t.app.redis.hgetall(t.app.keys.learner(id));
    await t.app.redis.del(t.app.keys.learner(id));
    expect((await as(id, `{ me { dailyGoals { kind current completed } badges { badge { id } } } }`)).data!.me).toEqual(after.data!.me);
    const again = await t.app.redis.hgetall(t.app.keys.learner(id));
    for (const f of ['gt', 'gtd', 'gr', 'gc']) expect(again[f], f).toBe(hash[f]);
  });

  it('a day older than the hash keeps is read from Postgres', async () => {
    const id = 'gl-old';
    await at('2026-11-05T08:00:00Z', () => as(id, SET, { k: 'QUIZZES', t: 3 }));
    // Eleven active days after it: the hash keeps the newest eight.
    await logins(id, Array.from({ length: 11 }, (_, i) => `2026-11-${String(6 + i).padStart(2, '0')}T09:00:00Z`));
    await t.app.settle();
    const old = await as(id, `query($d: Date) { me { dailyGoals(date: $d) { date target current completed } } }`, { d: '2026-11-06' });
    expect(old.data!.me.dailyGoals).toEqual([{ date: '2026-11-06', target: 3, current: 0, completed: false }]);
    const bad = await as(id, `query($d: Date) { me { dailyGoals(date: $d) { date } } }`, { d: '2026-02-30' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('verify', () => {
  it('agrees with a learner who has a zone, a streak and goals, and reports a tampered goal count, target or day', async () => {
    const id = 'vf-goals';
    await at('2026-11-18T00:00:00Z', () => as(id, PROFILE, { i: { timeZone: 'Asia/Kolkata' } }));
    await t.gql(`mutation { enroll(courseId: "en", learnerId: "${id}") { id } }`, { token: service });
    await as(id, 'mutation { setDailyGoal(kind: LESSONS, target: 1) { completed } }');
    await as(id, 'mutation { completeLesson(lessonId: "en-l1") { xpAwarded } }');
    await logins(id, ['2026-11-18T09:00:00Z', '2026-11-19T09:00:00Z']);
    await t.app.settle();
    const run = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 50, rechecks: 1 });
    const clean = await run();
    expect(clean.drift.filter((d) => d.learnerId === id)).toEqual([]);
    const key = t.app.keys.learner(id);
    const saved = await t.app.redis.hmget(key, 'gc', 'gt', 'gr');
    await t.app.redis.hset(key, 'gc', '5', 'gt', '0|9|0|0', 'gr', saved[2]!.replace(/^(\d+)\|(\d+)\|/, '$1|999|'));
    try {
      const what = (await run()).drift.filter((d) => d.learnerId === id).map((d) => d.what).join('\n');
      expect(what).toMatch(/goals completed 5 vs 1/);
      expect(what).toMatch(/goal targets "0\|9\|0\|0" vs "0,0,0\|1,/);
      expect(what).toMatch(/goal days/);
    } finally {
      await t.app.redis.hset(key, 'gc', saved[0]!, 'gt', saved[1]!, 'gr', saved[2]!);
    }
  });
});
