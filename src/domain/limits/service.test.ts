import { describe, expect, it } from 'vitest';
import type { Viewer } from '../auth/viewer';
import { Forbidden, RateLimited } from '../errors';
import { takeTokens, type Bucket } from './rate';
import { ActionLimits, callerKindOf, type RateBudgets, type RateLimitStore } from './service';

// 2026-11-22T10:00:00Z, any fixed instant.
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

/** The rule in memory, as the Redis script keeps it; records what it was asked. */
function memoryStore(): RateLimitStore & { asks: string[] } {
  const buckets = new Map<string, Bucket>();
  const asks: string[] = [];
  return {
    asks,
    async take(learnerId, action, caller, rule, asked, nowMs) {
      const key = JSON.stringify([learnerId, action, caller]);
      asks.push(`${learnerId}/${action}/${caller}/${rule.limit}x${asked}`);
      const took = takeTokens(buckets.get(key) ?? null, rule, asked, nowMs);
      if (took.bucket) buckets.set(key, took.bucket);
      return { granted: took.granted, waitMs: took.waitMs };
    },
  };
}

const BUDGETS: RateBudgets = {
  enabled: true,
  perMinute: { enroll: 2, completeLesson: 3, recordWatchTime: 120, submitQuizAttempt: 0, recordEvents: 4, updateProfile: 1, setDailyGoal: 1 },
  serviceFactor: 10,
};

const learner = (id: string): Viewer => ({ id, roles: new Set() });
const service: Viewer = { id: 'lms', roles: new Set(['service']) };
const admin: Viewer = { id: 'ops', roles: new Set(['admin']) };

function limitsAt(now: { t: number }, budgets = BUDGETS) {
  const store = memoryStore();
  return { store, limits: new ActionLimits(store, budgets, { now: () => now.t }) };
}

describe('ActionLimits', () => {
  it('takes one action per call and refuses past the budget with the whole seconds to wait', async () => {
    const now = { t: T0 };
    const { limits } = limitsAt(now);
    expect(await limits.actingFor(learner('amy'), null, 'completeLesson')).toBe('amy');
    await limits.actingFor(learner('amy'), 'amy', 'completeLesson');
    await limits.actingFor(learner('amy'), undefined, 'completeLesson');
    const refusal = await limits.actingFor(learner('amy'), null, 'completeLesson').catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimited);
    // 3 a minute: the next one in 20 s.
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 20 });
    expect((refusal as Error).message).toBe('Too many lesson completions for learner "amy" in a short time (at most 3 a minute); try again in 20 s.');
    now.t = T0 + 20_000;
    await expect(limits.actingFor(learner('amy'), null, 'completeLesson')).resolves.toBe('amy');
  });

  it('keeps one budget per learner and action, and a separate, larger one for service callers', async () => {
    const now = { t: T0 };
    const { limits, store } = limitsAt(now);
    for (let i = 0; i < 2; i += 1) await limits.actingFor(learner('amy'), null, 'enroll');
    await expect(limits.actingFor(learner('amy'), null, 'enroll')).rejects.toBeInstanceOf(RateLimited);
    await expect(limits.actingFor(learner('bob'), null, 'enroll')).resolves.toBe('bob');
    await expect(limits.actingFor(learner('amy'), null, 'completeLesson')).resolves.toBe('amy');
    // The service acting for amy has 2 x 10 of its own.
    for (let i = 0; i < 20; i += 1) await limits.actingFor(service, 'amy', 'enroll');
    await expect(limits.actingFor(admin, 'amy', 'enroll')).rejects.toMatchObject({ retryAfterSeconds: 3 });
    expect(store.asks.at(-1)).toBe('amy/enroll/service/20x1');
  });

  it('checks who may act for whom before taking anything', async () => {
    const { limits, store } = limitsAt({ t: T0 });
    await expect(limits.actingFor(learner('amy'), 'bob', 'enroll')).rejects.toBeInstanceOf(Forbidden);
    await expect(limits.actingFor(null, null, 'enroll')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(store.asks).toEqual([]);
  });

  it("grants a batch's first events per learner and refuses the rest one by one, asking once per learner", async () => {
    const { limits, store } = limitsAt({ t: T0 });
    const ids = ['amy', 'bob', 'amy', 'amy', 'amy', 'amy', 'bob', 'amy'];
    const out = await limits.takeEach(learner('amy'), ids, 'recordEvents');
    expect(out.map((r) => (r ? r.code : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'ok', 'RATE_LIMITED']);
    expect(out[5]).toMatchObject({ retryAfterSeconds: 15 });
    expect(store.asks.sort()).toEqual(['amy/recordEvents/learner/4x6', 'bob/recordEvents/learner/4x2']);
  });

  it('asks nothing for an unlimited action (0), nor when limits are off; 0 as the service factor frees service callers only', async () => {
    const now = { t: T0 };
    const { limits, store } = limitsAt(now);
    for (let i = 0; i < 50; i += 1) await limits.actingFor(learner('amy'), null, 'submitQuizAttempt');
    const off = limitsAt(now, { ...BUDGETS, enabled: false });
    for (let i = 0; i < 50; i += 1) await off.limits.actingFor(learner('amy'), null, 'enroll');
    expect([...store.asks, ...off.store.asks]).toEqual([]);
    const freeService = limitsAt(now, { ...BUDGETS, serviceFactor: 0 });
    for (let i = 0; i < 50; i += 1) await freeService.limits.actingFor(service, 'amy', 'enroll');
    expect(freeService.limits.ruleFor('enroll', 'learner')).toEqual({ limit: 2, windowMs: 60_000 });
    expect(freeService.limits.ruleFor('enroll', 'service')).toBeNull();
  });

  it('never lets an action through when the store cannot be asked: its error goes up (UNAVAILABLE through the translator)', async () => {
    const down: RateLimitStore = { take: () => Promise.reject(new Error('Connection is closed.')) };
    const limits = new ActionLimits(down, BUDGETS, { now: () => T0 });
    await expect(limits.actingFor(learner('amy'), null, 'enroll')).rejects.toThrow('Connection is closed.');
    await expect(limits.takeEach(learner('amy'), ['amy', 'bob'], 'recordEvents')).rejects.toThrow('Connection is closed.');
  });

  it('counts service and admin tokens as service callers', () => {
    expect([learner('amy'), service, admin].map(callerKindOf)).toEqual(['learner', 'service', 'service']);
  });
});
