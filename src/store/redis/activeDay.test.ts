import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_CANDIDATES } from '../../domain/badges/compile';
import { streakStateOf } from '../../domain/engagement/streak';
import type { PreparedEvent } from '../../domain/events/prepare';
import type { LearningEvent } from '../../domain/events/types';
import { emptyLearner } from '../../domain/learners/state';
import { testRedis } from '../../../test/harness';
import { deleteMatching } from './client';
import { decodeDays } from './dayBitmap';
import { Keys } from './keys';
import { LearnerHotStore } from './learners';
import type { ScriptedClient } from './scripts';

// The day bitmap of lua/includes/activeDay.lua: growth, backfills, its bound, and hashes from
// before it (one d:<day> field per day) converted by their next event.
const prefix = `test:${randomUUID().slice(0, 8)}:`;
const keys = new Keys(prefix, 8);
const DAY = 86_400_000;
let redis: ScriptedClient;
let store: LearnerHotStore;
const today = Math.floor(Date.now() / DAY);

const login = (learnerId: string, day: number): PreparedEvent => {
  const key = randomUUID();
  const at = day * DAY + 3_600_000;
  const event = { id: key, idFromCaller: false, key, kind: 'LOGGED_IN', learnerId, occurredAt: at, recordedAt: Date.now(), payload: {} } as unknown as LearningEvent<'LOGGED_IN'>;
  return { event, badges: NO_CANDIDATES } as PreparedEvent;
};

async function daysOf(id: string) {
  const [bits, d0, ad, sk, sf, sl, sd] = await redis.hmgetBuffer(keys.learner(id), 'days', 'd0', 'ad', 'sk', 'sf', 'sl', 'sd');
  const n = (b: Buffer | null | undefined) => (b ? Number(String(b)) : null);
  return {
    days: bits ? decodeDays(n(d0)!, bits) : [],
    bytes: bits?.length ?? 0,
    ad: n(ad),
    streak: { run: n(sk), freezes: n(sf), longest: n(sl), last: n(sd) },
    dayFields: (await redis.hkeys(keys.learner(id))).filter((f) => f.startsWith('d:')),
  };
}

const streakOf = (days: number[]) => {
  const s = streakStateOf(days);
  return { run: s.run, freezes: s.freezes, longest: s.longest, last: s.last };
};

beforeAll(async () => {
  redis = testRedis();
  await redis.connect();
  store = new LearnerHotStore(redis, keys, { eventRecordTtlMs: 60_000, boardPeriodGraceMs: DAY });
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
});

describe('the active-day bitmap', () => {
  it('grows forward and backward (a backfill rebases it), marks a day once, and keeps the streak of the set', async () => {
    const id = `grow-${randomUUID()}`;
    await store.hydrate({ ...emptyLearner(id), version: 1 });
    const marked: number[] = [];
    for (const day of [today - 3, today - 2, today - 2, today, today - 400, today - 1, today - 9, today - 401]) {
      expect(await store.run(login(id, day))).toMatchObject({ status: 'applied' });
      if (!marked.includes(day)) marked.push(day);
      const s = await daysOf(id);
      expect(s.days).toEqual([...marked].sort((a, b) => a - b));
      expect(s.ad).toBe(marked.length);
      expect(s.streak).toEqual(streakOf(marked));
    }
    expect((await daysOf(id)).bytes).toBeLessThanOrEqual(Math.ceil(402 / 8) + 1);
  });

  it('does not mark a day that would make the set span more than 100 years: the event still applies', async () => {
    const id = `span-${randomUUID()}`;
    await store.hydrate({ ...emptyLearner(id), version: 1, activeDays: [today + 36_000] });
    const far = await store.run(login(id, today - 700));
    expect(far).toMatchObject({ status: 'applied' });
    expect(await redis.hget(keys.learner(id), 'v')).toBe('2');
    expect(await daysOf(id)).toMatchObject({ days: [today + 36_000], ad: 1 });
    expect(await store.run(login(id, today - 500))).toMatchObject({ status: 'applied' });
    expect(await daysOf(id)).toMatchObject({ days: [today - 500, today + 36_000], ad: 2 });
  });
});

describe('a hash from before the bitmap (d:<day> fields)', () => {
  // The layout hydration wrote before: the same hash with one d:<day> field per day and no bitmap.
  async function legacy(id: string, days: number[]) {
    await store.hydrate({ ...emptyLearner(id), version: 1, activeDays: days });
    await redis.hdel(keys.learner(id), 'days', 'd0');
    await redis.hset(keys.learner(id), ...days.flatMap((d) => [`d:${d}`, '1']));
  }

  const old = Array.from({ length: 30 }, (_, i) => today - 40 + i).filter((d) => d % 5 !== 0);

  it('is converted by its next event: a new latest day', async () => {
    const id = `legacy-new-${randomUUID()}`;
    await legacy(id, old);
    expect(await store.run(login(id, today))).toMatchObject({ status: 'applied' });
    const all = [...old, today];
    expect(await daysOf(id)).toMatchObject({ days: all, ad: all.length, streak: streakOf(all), dayFields: [] });
  });

  it('is converted by its next event: a late day, the streak rebuilt from the converted days', async () => {
    const id = `legacy-late-${randomUUID()}`;
    await legacy(id, old);
    const missing = old.find((d) => !old.includes(d + 1))! + 1;
    expect(await store.run(login(id, missing))).toMatchObject({ status: 'applied' });
    const all = [...old, missing].sort((a, b) => a - b);
    expect(await daysOf(id)).toMatchObject({ days: all, ad: all.length, streak: streakOf(all), dayFields: [] });
  });

  it('is converted by an event on a day it already has, which adds no day', async () => {
    const id = `legacy-same-${randomUUID()}`;
    await legacy(id, old);
    expect(await store.run(login(id, old[3]!))).toMatchObject({ status: 'applied' });
    expect(await daysOf(id)).toMatchObject({ days: old, ad: old.length, streak: streakOf(old), dayFields: [] });
    const facts = await store.engagement(id, old[3]! * DAY);
    expect([...facts!.activeNear].sort()).toEqual([old[3]! - 1, old[3]!, old[3]! + 1].filter((d) => old.includes(d)));
  });
});
