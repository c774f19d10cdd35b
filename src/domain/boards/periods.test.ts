import { describe, expect, it } from 'vitest';
import {
  isPeriodOpen,
  isPeriodRetained,
  keptPeriodsFrom,
  openPeriodKeys,
  parsePeriodKey,
  periodBoardExpiresAt,
  periodKeyOf,
  PERIOD_KEEP_MARGIN_MS,
  shiftPeriod,
} from './periods';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const GRACE = 24 * H;

describe('period keys of an instant', () => {
  it('names the UTC day, ISO week and month', () => {
    // 2026-11-22 23:59:59.999 UTC, a Sunday: the last instant of ISO week 47
    const sunday = at('2026-11-22T23:59:59.999Z');
    expect(periodKeyOf('DAILY', sunday)).toBe('2026-11-22');
    expect(periodKeyOf('WEEKLY', sunday)).toBe('2026-W47');
    expect(periodKeyOf('MONTHLY', sunday)).toBe('2026-11');
  });

  it('starts a week at Monday 00:00 UTC exactly', () => {
    // 2026-11-23 00:00:00.000 UTC, Monday
    expect(periodKeyOf('WEEKLY', at('2026-11-23T00:00:00.000Z'))).toBe('2026-W48');
    // one millisecond earlier, Sunday 23:59:59.999
    expect(periodKeyOf('WEEKLY', at('2026-11-23T00:00:00.000Z') - 1)).toBe('2026-W47');
    // 2026-11-23 00:30 in Berlin is still Sunday in UTC: boundaries are UTC
    expect(periodKeyOf('WEEKLY', at('2026-11-23T00:30:00+01:00'))).toBe('2026-W47');
  });

  it('uses the ISO week-year at the edges of a calendar year', () => {
    // 2027-01-01, a Friday: its week's Thursday is 2026-12-31, so it is in 2026's week 53
    expect(periodKeyOf('WEEKLY', at('2027-01-01T12:00:00Z'))).toBe('2026-W53');
    // 2027-01-03, Sunday: still 2026-W53; 2027-01-04, Monday: 2027-W01
    expect(periodKeyOf('WEEKLY', at('2027-01-03T23:59:59.999Z'))).toBe('2026-W53');
    expect(periodKeyOf('WEEKLY', at('2027-01-04T00:00:00Z'))).toBe('2027-W01');
    // 2024-12-30, a Monday: its Thursday is 2025-01-02, so it is 2025-W01
    expect(periodKeyOf('WEEKLY', at('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(periodKeyOf('DAILY', at('2024-12-30T00:00:00Z'))).toBe('2024-12-30');
    // 2021-01-03, Sunday: 2020 had 53 weeks
    expect(periodKeyOf('WEEKLY', at('2021-01-03T23:59:59Z'))).toBe('2020-W53');
  });

  it('handles month ends and a leap day', () => {
    // 2028-02-29 (a leap day), and the instant after it ends
    expect(periodKeyOf('DAILY', at('2028-02-29T12:00:00Z'))).toBe('2028-02-29');
    expect(periodKeyOf('MONTHLY', at('2028-02-29T23:59:59.999Z'))).toBe('2028-02');
    expect(periodKeyOf('MONTHLY', at('2028-03-01T00:00:00Z'))).toBe('2028-03');
    // 2026-12-31 23:59:59.999, New Year's Eve
    expect(periodKeyOf('MONTHLY', at('2026-12-31T23:59:59.999Z'))).toBe('2026-12');
    expect(periodKeyOf('MONTHLY', at('2027-01-01T00:00:00Z'))).toBe('2027-01');
  });
});

describe('parsing a period key', () => {
  it('gives the period [start, end) in UTC', () => {
    expect(parsePeriodKey('2026-W47')).toEqual({ kind: 'WEEKLY', key: '2026-W47', start: at('2026-11-16T00:00:00Z'), end: at('2026-11-23T00:00:00Z') });
    expect(parsePeriodKey('2026-W53')).toEqual({ kind: 'WEEKLY', key: '2026-W53', start: at('2026-12-28T00:00:00Z'), end: at('2027-01-04T00:00:00Z') });
    expect(parsePeriodKey('2028-02-29')).toEqual({ kind: 'DAILY', key: '2028-02-29', start: at('2028-02-29T00:00:00Z'), end: at('2028-03-01T00:00:00Z') });
    expect(parsePeriodKey('2026-12')).toEqual({ kind: 'MONTHLY', key: '2026-12', start: at('2026-12-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') });
  });

  it('refuses keys that name no period', () => {
    for (const bad of ['', '2026', '2026-13', '2026-00', '2026-1', '2026-02-30', '2027-02-29', '2026-W00', '2027-W53', '2026-W54', '2026-w47', '2026-11-22T00', ' 2026-11', '26-11-22', '0000-01']) {
      expect(parsePeriodKey(bad), bad).toBeNull();
    }
    // 2026 has 53 ISO weeks (it starts on a Thursday); 2027 has 52.
    expect(parsePeriodKey('2026-W53')).not.toBeNull();
  });

  it('round-trips with periodKeyOf at the start and the last instant of each period', () => {
    for (const key of ['2026-11-22', '2028-02-29', '2026-W01', '2026-W53', '2025-W01', '2026-01', '2028-02']) {
      const p = parsePeriodKey(key)!;
      expect(periodKeyOf(p.kind, p.start)).toBe(key);
      expect(periodKeyOf(p.kind, p.end - 1)).toBe(key);
      expect(periodKeyOf(p.kind, p.end)).not.toBe(key);
    }
  });
});

describe('shifting periods', () => {
  it('steps over year, week-year and month ends', () => {
    expect(shiftPeriod('2026-W53', 1)).toBe('2027-W01');
    expect(shiftPeriod('2027-W01', -1)).toBe('2026-W53');
    expect(shiftPeriod('2026-W47', -12)).toBe('2026-W35');
    expect(shiftPeriod('2028-02-28', 1)).toBe('2028-02-29');
    expect(shiftPeriod('2028-03-01', -1)).toBe('2028-02-29');
    expect(shiftPeriod('2026-01', -1)).toBe('2025-12');
    expect(shiftPeriod('2026-11', 12)).toBe('2027-11');
  });
});

describe('open periods and grace', () => {
  // An event at Sunday 2026-11-22 23:00 UTC, the last hour of 2026-W47
  const sundayLate = at('2026-11-22T23:00:00Z');
  const weekEnd = at('2026-11-23T00:00:00Z');

  it('counts an event in every period of its time while they run', () => {
    expect(openPeriodKeys(sundayLate, sundayLate, GRACE)).toEqual(['2026-11-22', '2026-W47', '2026-11']);
  });

  it('still counts it in a finished period within the grace window, and not after', () => {
    // recorded Monday 2026-11-23 23:59:59.999, the last instant of the grace window
    expect(openPeriodKeys(sundayLate, weekEnd + GRACE - 1, GRACE)).toEqual(['2026-11-22', '2026-W47', '2026-11']);
    // recorded Tuesday 2026-11-24 00:00, grace over: day and week are frozen, the month runs on
    expect(openPeriodKeys(sundayLate, weekEnd + GRACE, GRACE)).toEqual(['2026-11']);
    expect(isPeriodOpen('2026-W47', weekEnd + GRACE, GRACE)).toBe(false);
    // with no grace, a week is frozen the instant it ends
    expect(openPeriodKeys(sundayLate, weekEnd, 0)).toEqual(['2026-11']);
  });

  it('counts a backfill far in the past for no period', () => {
    expect(openPeriodKeys(at('2026-01-10T10:00:00Z'), sundayLate, GRACE)).toEqual([]);
  });

  it('keeps in a learner hash only the periods that can still change, with a margin', () => {
    // Tuesday 2026-11-24 00:30: W47's grace ended 30 minutes ago, within the margin
    expect(keptPeriodsFrom(at('2026-11-24T00:30:00Z'), GRACE)).toEqual({ DAILY: '2026-11-22', WEEKLY: '2026-W47', MONTHLY: '2026-11' });
    // an hour later the margin is over
    // (2026-12-02 01:00: November's grace and margin are over too)
    expect(keptPeriodsFrom(at('2026-12-02T01:00:00Z'), GRACE).MONTHLY).toBe('2026-12');
    expect(keptPeriodsFrom(at('2026-12-02T00:59:59Z'), GRACE).MONTHLY).toBe('2026-11');
    expect(keptPeriodsFrom(at('2026-11-24T00:00:00Z') + PERIOD_KEEP_MARGIN_MS, GRACE)).toEqual({ DAILY: '2026-11-23', WEEKLY: '2026-W48', MONTHLY: '2026-11' });
  });
});

describe('retention', () => {
  // Wednesday 2026-11-25 12:00 UTC, in 2026-W48
  const now = at('2026-11-25T12:00:00Z');

  it('keeps the current period and the 12 finished before it queryable', () => {
    expect(isPeriodRetained('2026-W48', now)).toBe(true);
    expect(isPeriodRetained('2026-W36', now)).toBe(true);
    expect(isPeriodRetained('2026-W35', now)).toBe(false);
    expect(isPeriodRetained('2026-W49', now)).toBe(false);
    expect(isPeriodRetained('2026-11-13', now)).toBe(true);
    expect(isPeriodRetained('2026-11-12', now)).toBe(false);
    expect(isPeriodRetained('2025-11', now)).toBe(true);
    expect(isPeriodRetained('2025-10', now)).toBe(false);
  });

  it('expires a board once 12 later periods ended, plus the grace window', () => {
    // 2026-W47 + 12 weeks = 2027-W06, which ends Monday 2027-02-15 00:00 UTC
    expect(periodBoardExpiresAt('2026-W47', GRACE)).toBe(at('2027-02-16T00:00:00Z'));
    expect(periodBoardExpiresAt('2026-11', 0)).toBe(at('2027-12-01T00:00:00Z'));
    // retained until after its last day of being queryable
    expect(isPeriodRetained('2026-W47', at('2027-02-14T23:59:59Z'))).toBe(true);
  });
});
