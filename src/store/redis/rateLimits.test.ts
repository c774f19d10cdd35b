import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeTokens, type Bucket, type RateRule } from '../../domain/limits/rate';
import { testRedis } from '../../../test/harness';
import { deleteMatching } from './client';
import { Keys } from './keys';
import { RedisRateLimits } from './rateLimits';
import type { ScriptedClient } from './scripts';

const prefix = `test:${randomUUID().slice(0, 8)}:`;
const keys = new Keys(prefix, 8);
let redis: ScriptedClient;
let limits: RedisRateLimits;
// 2026-11-22T10:00:00Z
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const RULE: RateRule = { limit: 7, windowMs: 60_000 };

const tagOf = (key: string) => /\{[^}]*\}/.exec(key)?.[0];

beforeAll(async () => {
  redis = testRedis();
  await redis.connect();
  limits = new RedisRateLimits(redis, keys);
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
});

describe('takeTokens-1.lua', () => {
  it('agrees with the rule in TypeScript, step by step (uneven refills, part grants, a clock going back)', async () => {
    // 7 a minute: a token every 8571.43 ms, so refills land between whole tokens.
    const steps: [asked: number, at: number][] = [
      [3, T0],
      [5, T0 + 1],
      [1, T0 + 8_571],
      [1, T0 + 8_572],
      [2, T0 + 20_000],
      [1, T0 + 19_000],
      [7, T0 + 90_000],
      [1, T0 + 90_000],
      [4, T0 + 120_001],
    ];
    let bucket: Bucket | null = null;
    for (const [asked, at] of steps) {
      const expected = takeTokens(bucket, RULE, asked, at);
      if (expected.bucket) bucket = expected.bucket;
      const got = await limits.take('agree', 'completeLesson', 'learner', RULE, asked, at);
      expect(got, `${asked} at +${at - T0} ms`).toEqual({ granted: expected.granted, waitMs: expected.waitMs });
      const stored = await redis.hgetall(keys.rateBucket('agree', 'completeLesson', 'learner'));
      if (bucket) expect({ units: Number(stored.u), at: Number(stored.at) }).toEqual(bucket);
    }
  });

  it('expires a bucket when it would be full again, and writes nothing when nothing is granted', async () => {
    const key = keys.rateBucket('ttl', 'recordEvents', 'learner');
    // Real time here: PTTL counts down on the server's clock.
    const now = Date.now();
    expect(await limits.take('ttl', 'recordEvents', 'learner', { limit: 120, windowMs: 60_000 }, 30, now)).toEqual({ granted: 30, waitMs: 0 });
    const ttl = await redis.pttl(key);
    // 30 tokens at 2 a second: full again in 15 s.
    expect(ttl).toBeGreaterThan(14_000);
    expect(ttl).toBeLessThanOrEqual(15_000);
    const none = keys.rateBucket('none', 'recordEvents', 'learner');
    await limits.take('none', 'recordEvents', 'learner', { limit: 2, windowMs: 60_000 }, 2, now);
    const before = await redis.hgetall(none);
    expect(await limits.take('none', 'recordEvents', 'learner', { limit: 2, windowMs: 60_000 }, 1, now + 1_000)).toEqual({ granted: 0, waitMs: 29_000 });
    expect(await redis.hgetall(none)).toEqual(before);
    expect(await redis.pttl(none)).toBeGreaterThan(0);
  });

  it("keeps each learner's bucket in their partition's slot, one per (learner, action, caller), whatever the ids hold", async () => {
    const learners = ['a', 'a:b', 'b', 'b:c', 'a:b:c', '1:a', '3:a:b', 'a:1:a', 'completeLesson', 'learner:1:a', 'x}:learner:y'];
    const actions = ['completeLesson', 'enroll'] as const;
    const callers = ['learner', 'service'] as const;
    const all = learners.flatMap((l) => actions.flatMap((a) => callers.map((c) => keys.rateBucket(l, a, c))));
    expect(new Set(all).size).toBe(all.length);
    for (const l of learners) expect(tagOf(keys.rateBucket(l, 'enroll', 'learner'))).toBe(tagOf(keys.learner(l)));
    expect(() => keys.rateBucket('a', 'b:c', 'learner')).toThrow();
    expect(() => keys.rateBucket('a', 'enroll', 'learner:1')).toThrow();
    // Emptying one bucket leaves its look-alikes full.
    const rule = { limit: 1, windowMs: 60_000 };
    expect((await limits.take('a:b', 'enroll', 'learner', rule, 1, T0)).granted).toBe(1);
    expect((await limits.take('a:b', 'enroll', 'learner', rule, 1, T0)).granted).toBe(0);
    for (const [l, c] of [['a', 'learner'], ['b', 'learner'], ['a:b', 'service'], ['1:a:b', 'learner']] as const) {
      expect((await limits.take(l, 'enroll', c, rule, 1, T0)).granted, `${l} ${c}`).toBe(1);
    }
  });
});
