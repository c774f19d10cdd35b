import { describe, expect, it } from 'vitest';
import { retryAfterSeconds, takeTokens, type Bucket, type RateRule } from './rate';

// 2026-11-22T10:00:00Z, any fixed instant.
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
// 120 a minute: one token every 500 ms.
const RULE: RateRule = { limit: 120, windowMs: 60_000 };

/** Take `asked` tokens at each instant in turn, carrying the bucket as a store would. */
function run(steps: [asked: number, at: number][], rule = RULE, start: Bucket | null = null) {
  let bucket = start;
  return steps.map(([asked, at]) => {
    const took = takeTokens(bucket, rule, asked, at);
    if (took.bucket) bucket = took.bucket;
    return took;
  });
}

describe('takeTokens', () => {
  it('starts full: a burst of the whole limit, then nothing until the next token', () => {
    const [burst, next] = run([
      [120, T0],
      [1, T0],
    ]);
    expect(burst).toMatchObject({ granted: 120, waitMs: 0, bucket: { units: 0, at: T0 }, ttlMs: 60_000 });
    expect(next).toEqual({ granted: 0, waitMs: 500, bucket: null, ttlMs: 0 });
  });

  it('grants part of a batch: as many whole tokens as it holds, and the wait for the next', () => {
    const [, part] = run([
      [118, T0],
      [5, T0],
    ]);
    expect(part).toMatchObject({ granted: 2, waitMs: 500, bucket: { units: 0 } });
  });

  it('refills evenly with time, never past the limit', () => {
    const steps = run([
      [120, T0],
      [1, T0 + 499], // 0.998 of a token: not yet
      [1, T0 + 500],
      [10, T0 + 500 + 2_000], // 4 tokens back
      [200, T0 + 3_600_000], // an hour later: full, not 7,200
    ]);
    expect(steps.map((s) => s.granted)).toEqual([120, 0, 1, 4, 120]);
    expect(steps[1]!.waitMs).toBe(1);
    expect(steps[3]!.waitMs).toBe(500);
  });

  it('lives only until it is full again, so a quiet learner leaves nothing behind', () => {
    const [one] = run([[1, T0]]);
    expect(one).toMatchObject({ granted: 1, bucket: { units: 119 * 60_000 }, ttlMs: 500 });
    const [, , some] = run([
      [120, T0],
      [0, T0],
      [30, T0 + 30_000], // 60 back, 30 taken: 30 held, 45 s to full
    ]);
    expect(some).toMatchObject({ granted: 30, ttlMs: 45_000 });
  });

  it("counts a clock behind the bucket's (another instance) as no time passed", () => {
    const [, behind] = run([
      [120, T0 + 1_000],
      [1, T0],
    ]);
    expect(behind).toMatchObject({ granted: 0, waitMs: 500 });
    const [, , later] = run([
      [120, T0 + 1_000],
      [0, T0],
      [1, T0 + 1_500],
    ]);
    expect(later).toMatchObject({ granted: 1, bucket: { at: T0 + 1_500 } });
  });

  it('works for small budgets over long waits (2 a minute: a token every 30 s)', () => {
    const steps = run(
      [
        [3, T0],
        [1, T0 + 10_000],
        [1, T0 + 30_000],
      ],
      { limit: 2, windowMs: 60_000 },
    );
    expect(steps.map((s) => [s.granted, s.waitMs])).toEqual([
      [2, 30_000],
      [0, 20_000],
      [1, 0],
    ]);
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least one', () => {
    expect([1, 500, 1000, 1001, 29_999].map(retryAfterSeconds)).toEqual([1, 1, 1, 2, 30]);
    expect(retryAfterSeconds(0)).toBe(1);
  });
});
