import { describe, expect, it } from 'vitest';
import { isValidDay, learningDay } from './days';

const at = (iso: string): number => Date.parse(iso);

describe('learningDay', () => {
  it('turns over at midnight UTC by default', () => {
    // 2026-03-10T23:59:59.999Z is the last instant of 2026-03-10 in UTC.
    expect(learningDay(at('2026-03-10T23:59:59.999Z'))).toBe('2026-03-10');
    // 2026-03-11T00:00:00Z is the first instant of 2026-03-11 in UTC.
    expect(learningDay(at('2026-03-11T00:00:00Z'), 'UTC')).toBe('2026-03-11');
  });

  it('follows a half-hour offset (Asia/Kolkata, +05:30)', () => {
    // 2026-03-10T18:29:59Z is 23:59:59 IST on 2026-03-10.
    expect(learningDay(at('2026-03-10T18:29:59Z'), 'Asia/Kolkata')).toBe('2026-03-10');
    // 2026-03-10T18:30:00Z is 00:00:00 IST on 2026-03-11, still 2026-03-10 in UTC.
    expect(learningDay(at('2026-03-10T18:30:00Z'), 'Asia/Kolkata')).toBe('2026-03-11');
  });

  it('follows the furthest-ahead zone (Pacific/Kiritimati, +14)', () => {
    // 2026-03-10T09:59:59Z is 23:59:59 on 2026-03-10 in Kiritimati.
    expect(learningDay(at('2026-03-10T09:59:59Z'), 'Pacific/Kiritimati')).toBe('2026-03-10');
    // 2026-03-10T10:00:00Z is 00:00 on 2026-03-11 in Kiritimati.
    expect(learningDay(at('2026-03-10T10:00:00Z'), 'Pacific/Kiritimati')).toBe('2026-03-11');
    // 2026-12-31T12:00:00Z is noon of New Year's Eve in UTC but 02:00 on 2027-01-01 in Kiritimati.
    expect(learningDay(at('2026-12-31T12:00:00Z'), 'Pacific/Kiritimati')).toBe('2027-01-01');
    expect(learningDay(at('2026-12-31T12:00:00Z'), 'UTC')).toBe('2026-12-31');
  });

  it('follows America/New_York into summer time (the day of 2026-03-08 has 23 hours)', () => {
    // 2026-03-08T04:59:59Z is 23:59:59 EST (-05:00) on 2026-03-07.
    expect(learningDay(at('2026-03-08T04:59:59Z'), 'America/New_York')).toBe('2026-03-07');
    // 2026-03-08T05:00:00Z is 00:00 EST on 2026-03-08.
    expect(learningDay(at('2026-03-08T05:00:00Z'), 'America/New_York')).toBe('2026-03-08');
    // 2026-03-09T03:59:59Z is 23:59:59 EDT (-04:00) on 2026-03-08; a fixed -05:00 would say 22:59.
    expect(learningDay(at('2026-03-09T03:59:59Z'), 'America/New_York')).toBe('2026-03-08');
    // 2026-03-09T04:00:00Z is 00:00 EDT on 2026-03-09; a fixed -05:00 would still say 2026-03-08.
    expect(learningDay(at('2026-03-09T04:00:00Z'), 'America/New_York')).toBe('2026-03-09');
  });

  it('follows America/New_York back to winter time (the day of 2026-11-01 has 25 hours)', () => {
    // 2026-11-01T04:00:00Z is 00:00 EDT on 2026-11-01.
    expect(learningDay(at('2026-11-01T04:00:00Z'), 'America/New_York')).toBe('2026-11-01');
    // 2026-11-01T05:30:00Z is 01:30 EDT and 2026-11-01T06:30:00Z is 01:30 EST: the same day twice.
    expect(learningDay(at('2026-11-01T05:30:00Z'), 'America/New_York')).toBe('2026-11-01');
    expect(learningDay(at('2026-11-01T06:30:00Z'), 'America/New_York')).toBe('2026-11-01');
    // 2026-11-02T04:59:59Z is 23:59:59 EST on 2026-11-01; a fixed -04:00 would say 2026-11-02.
    expect(learningDay(at('2026-11-02T04:59:59Z'), 'America/New_York')).toBe('2026-11-01');
    // 2026-11-02T05:00:00Z is 00:00 EST on 2026-11-02.
    expect(learningDay(at('2026-11-02T05:00:00Z'), 'America/New_York')).toBe('2026-11-02');
  });

  it('follows Europe/Berlin across its spring gap', () => {
    // 2026-03-29T00:59:59Z is 01:59:59 CET, 2026-03-29 in Europe/Berlin; 01:00Z is 03:00 CEST.
    expect(learningDay(at('2026-03-29T00:59:59Z'), 'Europe/Berlin')).toBe('2026-03-29');
    expect(learningDay(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29');
    // 2026-03-28T22:59:59Z is 23:59:59 CET on 2026-03-28.
    expect(learningDay(at('2026-03-28T22:59:59Z'), 'Europe/Berlin')).toBe('2026-03-28');
  });

  it('refuses a zone the runtime does not know', () => {
    expect(() => learningDay(0, 'Mars/Olympus_Mons')).toThrow(Error);
  });
});

describe('isValidDay', () => {
  it.each(['2026-03-10', '2024-02-29', '2000-02-29', '2026-12-31', '2026-04-30', '0001-01-01'])('accepts %s', (s) => {
    expect(isValidDay(s)).toBe(true);
  });

  it.each([
    '2026-02-29', // 2026 is not a leap year
    '1900-02-29', // centuries are leap years only when divisible by 400
    '2026-04-31',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-1-01',
    '26-01-01',
    ' 2026-01-01',
    '2026-01-01T00:00',
    '2026/01/01',
    '',
  ])('refuses %j', (s) => {
    expect(isValidDay(s)).toBe(false);
  });
});
