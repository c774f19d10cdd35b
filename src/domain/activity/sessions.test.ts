import { describe, expect, it } from 'vitest';
import { LONE_EVENT_SECONDS, SESSION_GAP_MS, sessionsOf } from './sessions';

// 2026-03-10T09:00:00Z, an arbitrary morning.
const t0 = Date.parse('2026-03-10T09:00:00Z');
const sec = 1000;
const min = 60 * sec;

describe('sessionsOf', () => {
  it('counts nothing for no activity', () => {
    expect(sessionsOf([])).toEqual({ sessions: 0, seconds: 0 });
  });

  it('counts a lone event as one session of 60 s', () => {
    expect(sessionsOf([t0])).toEqual({ sessions: 1, seconds: LONE_EVENT_SECONDS });
  });

  it('keeps a gap of 29:59 inside the session', () => {
    // 09:00:00 and 09:29:59: one session of 1799 s.
    expect(sessionsOf([t0, t0 + 29 * min + 59 * sec])).toEqual({ sessions: 1, seconds: 1799 });
  });

  it('keeps a gap of exactly 30:00 inside the session', () => {
    expect(SESSION_GAP_MS).toBe(30 * min);
    // 09:00:00 and 09:30:00: one session of 1800 s.
    expect(sessionsOf([t0, t0 + 30 * min])).toEqual({ sessions: 1, seconds: 1800 });
  });

  it('splits at a gap of 30:01', () => {
    // 09:00:00 and 09:30:01: two lone events, 60 s each.
    expect(sessionsOf([t0, t0 + 30 * min + 1 * sec])).toEqual({ sessions: 2, seconds: 120 });
  });

  it('measures gaps between neighbours, not from the first event', () => {
    // 09:00, 09:25, 09:50, 10:15: each gap is 25 min, so one session of 75 min = 4500 s.
    expect(sessionsOf([t0, t0 + 25 * min, t0 + 50 * min, t0 + 75 * min])).toEqual({ sessions: 1, seconds: 4500 });
  });

  it('reads unsorted input in time order', () => {
    // 09:40, 09:00, 11:00, 09:10, 11:05 -> [09:00..09:40] 2400 s and [11:00..11:05] 300 s.
    const times = [t0 + 40 * min, t0, t0 + 120 * min, t0 + 10 * min, t0 + 125 * min];
    expect(sessionsOf(times)).toEqual({ sessions: 2, seconds: 2700 });
    // The caller's array is not reordered.
    expect(times[0]).toBe(t0 + 40 * min);
  });

  it('counts duplicates once', () => {
    expect(sessionsOf([t0, t0, t0])).toEqual({ sessions: 1, seconds: 60 });
    // 09:00, 09:05 twice: one session of 300 s.
    expect(sessionsOf([t0 + 5 * min, t0, t0 + 5 * min])).toEqual({ sessions: 1, seconds: 300 });
  });

  it('counts a session shorter than a minute as 60 s and rounds spans down to whole seconds', () => {
    // 09:00:00 and 09:00:20: 20 s, counted as 60 s.
    expect(sessionsOf([t0, t0 + 20 * sec])).toEqual({ sessions: 1, seconds: 60 });
    // 09:00:00.000 and 09:01:30.999: 90.999 s, counted as 90 s.
    expect(sessionsOf([t0, t0 + 90_999])).toEqual({ sessions: 1, seconds: 90 });
  });

  it('adds the sessions of a day', () => {
    // [09:00], [10:00..10:20] 1200 s, [12:00..12:00:30] 30 s -> 60 + 1200 + 60 = 1320 s.
    const times = [t0, t0 + 60 * min, t0 + 70 * min, t0 + 80 * min, t0 + 180 * min, t0 + 180 * min + 30 * sec];
    expect(sessionsOf(times)).toEqual({ sessions: 3, seconds: 1320 });
  });
});
