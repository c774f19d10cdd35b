import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// Review of issue 8 (profiles, zone-true days, streaks, rate limits): each test is a defect
// found by the review. `it.fails` marks one whose fix belongs in the Lua scripts or
// src/store/redis/learners.ts (being edited for daily goals): the comment says what is wrong.
const env = newTestEnv();
let t: TestApp;
let service: string;
const nowMs = Date.parse('2026-11-20T12:00:00Z');
const clock = { now: () => nowMs };

const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index code message } } }`;
const PROFILE = `mutation($i: ProfileInput!) { updateProfile(input: $i) { id displayName timeZone } }`;
const STREAK = `{ me { timeZone streak { current longest lastActiveDate activeToday freezesAvailable } } }`;

let seq = 0;
const as = <T = Record<string, any>>(learnerId: string, query: string, variables?: Record<string, unknown>) => t.as<T>(learnerId, query, variables);
async function logins(learnerId: string, instants: string[]) {
  const res = await t.gql(RECORD, {
    variables: { e: instants.map((at) => ({ id: `r8-login-${(seq += 1)}`, type: 'DAILY_LOGIN', occurredAt: at, learnerId })) },
    token: service,
  });
  expect(res.errors).toBeUndefined();
  return res.data!.recordEvents;
}
const verify = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 100 });

beforeAll(async () => {
  t = await startTestApp(env, { app: { clock } });
  service = await tokenFor('svc', ['service']);
  const admin = await tokenFor('admin', ['admin']);
  const res = await t.gql('mutation($c: CourseInput!) { upsertCourse(input: $c) { id } }', { variables: { c: makeCourse({ id: 'r8', lessons: 3 }) }, token: admin });
  expect(res.errors).toBeUndefined();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('zone changes racing an event', () => {
  // learners.ts `run` gives up after 3 retries and hands the -101 reply to outcomeOf, whose
  // refusal maps know no -101: it throws "Unexpected script reply -101", an INTERNAL error for
  // the caller (and the whole recordEvents call fails, after the batch's other events applied).
  // Fix (learners.ts): retry until the reply is not -101 with no fixed cap (each retry uses the
  // history the script answered, so it only misses when the zone moved again, which the
  // updateProfile budget bounds), or on the last attempt answer a retryable UNAVAILABLE, never
  // an internal error.
  it('an event whose learner changes zone on the first runs of its script is applied; on every run, refused as retryable, never an INTERNAL error', async () => {
    const id = 'r8-race';
    expect((await as(id, PROFILE, { i: { timeZone: 'Europe/Berlin' } })).errors).toBeUndefined();
    const hot = t.app.hot as any;
    const runOnce = hot.runOnce;
    const zones = ['America/New_York', 'Asia/Tokyo', 'Europe/Paris', 'Australia/Sydney', 'America/Chicago'];
    let runs = 0;
    let racing = 3;
    hot.runOnce = async (...args: unknown[]) => {
      // Another server's updateProfile lands just before the run of the script.
      // (Only before the login's runs: the profile change runs a script too.)
      if ((args[0] as any).event.kind === 'LOGGED_IN') {
        if (runs < racing) await t.app.services.engagement.updateProfile(id, { timeZone: zones[runs % zones.length] });
        runs += 1;
      }
      return runOnce.apply(hot, args);
    };
    try {
      expect(await logins(id, ['2026-11-20T11:00:00Z'])).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
      runs = 0;
      racing = 1000;
      const res = await t.gql(RECORD, { variables: { e: [{ id: 'r8-race-2', type: 'DAILY_LOGIN', occurredAt: '2026-11-20T11:30:00Z', learnerId: id }] }, token: service });
      expect(res.errors).toBeUndefined();
      expect(res.data!.recordEvents.rejected.map((r: any) => r.code)).toEqual(['UNAVAILABLE']);
    } finally {
      hot.runOnce = runOnce;
    }
  });
});

describe('streaks of learners Redis held before streaks existed', () => {
  // activeDay.lua markActiveDay: with no `sd` it starts the run at 1 (advanceStreak from an
  // empty state) even when the hash already holds d: days (`ad` > 0), as every learner hot in
  // Redis when this release deploys does. Their streak restarts at 1, `longest` forgets their
  // history, and hydration later (from activity_days) gives another streak. Fix (Lua): when
  // `sd` is absent and `ad` > 0, take streakFromDays() instead of advancing from nothing.
  it('a learner with earlier active days and no streak fields keeps the run on their next day', async () => {
    const id = 'r8-legacy';
    await logins(id, ['2026-11-17T09:00:00Z', '2026-11-18T09:00:00Z', '2026-11-19T09:00:00Z']);
    // The hash as a pre-streak release wrote it: d: days and ad, no sk/sf/sl/sd.
    await t.app.redis.hdel(t.app.keys.learner(id), 'sk', 'sf', 'sl', 'sd');
    await logins(id, ['2026-11-20T09:00:00Z']);
    const res = await as(id, STREAK);
    expect(res.data!.me.streak).toMatchObject({ current: 4, longest: 4 });
  });
});

describe('verify', () => {
  it('reports a learner whose streak fields disagree with their active days', async () => {
    const id = 'r8-verify';
    await logins(id, ['2026-11-18T09:00:00Z', '2026-11-19T09:00:00Z', '2026-11-20T09:00:00Z']);
    await t.app.settle();
    expect((await verify()).drift.filter((d) => d.learnerId === id)).toEqual([]);
    // A streak that the days do not give (a bug in a script, a hand edit): verify must see it.
    await t.app.redis.hset(t.app.keys.learner(id), 'sk', 400, 'sl', 400);
    const drift = (await verify()).drift.filter((d) => d.learnerId === id);
    expect(drift).toHaveLength(1);
    expect(drift[0]!.what).toMatch(/streak/);
  });
});

describe('updateProfile display names', () => {
  it('refuses names that show as nothing (Hangul fillers, braille blank, a lone combining mark)', async () => {
    for (const [i, name] of ['\u3164', '\u2800\u2800', '\u115F\u1160', '\uFFA0', '\u0301', 'A\u0301'.slice(1) + '\u034F'].entries()) {
      const res = await as(`r8-blank-${i}`, PROFILE, { i: { displayName: name } });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(name)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe('input.displayName');
    }
  });

  it('refuses a lone surrogate instead of storing U+FFFD in its place', async () => {
    const res = await as('r8-surrogate', PROFILE, { i: { displayName: 'Ann\uD800' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('updateProfile time zones', () => {
  it('answers the zone just set, even when the previous change was stamped in the same millisecond (or by a server whose clock is ahead)', async () => {
    const id = 'r8-same-ms';
    expect((await as(id, PROFILE, { i: { timeZone: 'Europe/Berlin' } })).data!.updateProfile.timeZone).toBe('Europe/Berlin');
    const res = await as(id, PROFILE, { i: { timeZone: 'Asia/Tokyo' } });
    expect(res.data!.updateProfile.timeZone).toBe('Asia/Tokyo');
    expect((await as(id, STREAK)).data!.me.timeZone).toBe('Asia/Tokyo');
  });

  // canonicalZone kept a name the runtime accepts but does not list "as typed" ('us/eastern',
  // 'asia/kolkata' in lower case; 'us/eastern' then 'US/Eastern' a zone change). Now only the
  // listed names and the current names ICU lists under an older one are offered, by lower case.
  it('spells a current zone name the same way whatever case it was typed in, and refuses old links and fixed offsets', async () => {
    const a = await as('r8-case-a', PROFILE, { i: { timeZone: 'us/eastern' } });
    const b = await as('r8-case-b', PROFILE, { i: { timeZone: 'asia/kolkata' } });
    expect(a.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.timeZone' });
    expect(b.data!.updateProfile.timeZone).toBe('Asia/Kolkata');
    expect((await as('r8-case-c', PROFILE, { i: { timeZone: 'EST' } })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
