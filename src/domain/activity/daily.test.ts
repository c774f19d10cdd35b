import { describe, expect, it } from 'vitest';
import { addToDay, dayUpdate, type DayAggregates } from './daily';

const t0 = Date.parse('2026-03-10T09:00:00Z');
const min = 60_000;

describe('addToDay', () => {
  it('opens a day: one active day, one session of 60 s', () => {
    expect(addToDay(null, [], t0, 10)).toEqual({
      day: { xp: 10, events: 1, sessions: 1, seconds: 60 },
      delta: { activeDays: 1, events: 1, sessions: 1, seconds: 60 },
    });
  });

  it('extends a session: 10 minutes later is one session of 600 s', () => {
    const stored: DayAggregates = { xp: 10, events: 1, sessions: 1, seconds: 60 };
    expect(addToDay(stored, [t0], t0 + 10 * min, 0)).toEqual({
      day: { xp: 10, events: 2, sessions: 1, seconds: 600 },
      delta: { activeDays: 0, events: 1, sessions: 0, seconds: 540 },
    });
  });

  it('starts a second session after a gap over 30 minutes', () => {
    const stored: DayAggregates = { xp: 10, events: 2, sessions: 1, seconds: 600 };
    expect(addToDay(stored, [t0, t0 + 10 * min], t0 + 130 * min, 5)).toEqual({
      day: { xp: 15, events: 3, sessions: 2, seconds: 660 },
      delta: { activeDays: 0, events: 1, sessions: 1, seconds: 60 },
    });
  });

  it('merges two sessions when a backfilled event falls between them', () => {
    // 09:00 and 09:50 are two sessions (60 s each); 09:25 joins them into one of 3000 s.
    const stored: DayAggregates = { xp: 0, events: 2, sessions: 2, seconds: 120 };
    expect(addToDay(stored, [t0 + 50 * min, t0], t0 + 25 * min, 0)).toEqual({
      day: { xp: 0, events: 3, sessions: 1, seconds: 3000 },
      delta: { activeDays: 0, events: 1, sessions: -1, seconds: 2880 },
    });
  });
});

describe('dayUpdate', () => {
  it('changes nothing when the day is already up to date (a replay)', () => {
    const times = [t0, t0 + 10 * min];
    const { day } = dayUpdate(null, times, 7);
    expect(dayUpdate(day, times, 7)).toEqual({ day, delta: { activeDays: 0, events: 0, sessions: 0, seconds: 0 } });
  });

  it('catches up from a stale row in one step, whatever order the times come in', () => {
    const stored: DayAggregates = { xp: 5, events: 1, sessions: 1, seconds: 60 };
    const { day, delta } = dayUpdate(stored, [t0 + 40 * min, t0, t0 + 5 * min], 20);
    expect(day).toEqual({ xp: 20, events: 3, sessions: 2, seconds: 360 });
    expect(delta).toEqual({ activeDays: 0, events: 2, sessions: 1, seconds: 300 });
  });
});
