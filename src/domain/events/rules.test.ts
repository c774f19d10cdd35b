import { describe, expect, it } from 'vitest';
import { eventTimeProblem, LEARNER_BACKFILL_MS, MAX_CLOCK_SKEW_MS } from './rules';

// 2026-11-22T10:00:00Z
const now = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('eventTimeProblem', () => {
  it('accepts now, the last 7 days and up to 5 minutes ahead for learners', () => {
    expect(eventTimeProblem(now, now, false)).toBeNull();
    expect(eventTimeProblem(now + MAX_CLOCK_SKEW_MS, now, false)).toBeNull();
    expect(eventTimeProblem(now - LEARNER_BACKFILL_MS, now, false)).toBeNull();
  });

  it('refuses a learner event from further back or further ahead', () => {
    expect(eventTimeProblem(now - LEARNER_BACKFILL_MS - 1, now, false)).toMatch(/7 days/);
    expect(eventTimeProblem(now + MAX_CLOCK_SKEW_MS + 1, now, false)).toMatch(/future/);
  });

  it('lets services backfill any time since 2000, but never the future', () => {
    // 2019-03-31T01:30:00Z, long past
    expect(eventTimeProblem(Date.UTC(2019, 2, 31, 1, 30), now, true)).toBeNull();
    expect(eventTimeProblem(Date.UTC(1999, 11, 31, 23, 59), now, true)).toMatch(/2000/);
    expect(eventTimeProblem(now + MAX_CLOCK_SKEW_MS + 1, now, true)).toMatch(/future/);
    expect(eventTimeProblem(Number.NaN, now, true)).toMatch(/valid/);
  });
});
