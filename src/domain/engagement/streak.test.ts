import { describe, expect, it } from 'vitest';
import { learningDay } from '../activity/days';
import { advanceStreak, NO_STREAK, streakAt, streakOf, streakStateOf } from './streak';

/** The learning days of instants (ISO strings, UTC) in `zone`. */
const daysIn = (zone: string, instants: string[]) => instants.map((i) => learningDay(Date.parse(i), zone));

describe('streakOf: the basic rules', () => {
  it('counts consecutive days ending today or yesterday, and 0 once a whole day is missed', () => {
    const days = ['2026-11-18', '2026-11-19', '2026-11-20'];
    expect(streakOf(days, '2026-11-20')).toMatchObject({ current: 3, longest: 3, activeToday: true, lastActiveDate: '2026-11-20' });
    // Today not active yet: yesterday keeps it alive.
    expect(streakOf(days, '2026-11-21')).toMatchObject({ current: 3, activeToday: false });
    // 2026-11-21 missed entirely, no freeze held.
    expect(streakOf(days, '2026-11-22')).toMatchObject({ current: 0, longest: 3 });
    expect(streakOf([], '2026-11-22')).toEqual({ current: 0, longest: 0, lastActiveDate: null, activeToday: false, freezesAvailable: 0 });
  });

  it('gives the same answer whatever order or repeats the days come in (late and out-of-order events)', () => {
    const inOrder = ['2026-11-10', '2026-11-11', '2026-11-12', '2026-11-14', '2026-11-15'];
    const shuffled = ['2026-11-15', '2026-11-10', '2026-11-12', '2026-11-15', '2026-11-11', '2026-11-14', '2026-11-10'];
    expect(streakOf(shuffled, '2026-11-15')).toEqual(streakOf(inOrder, '2026-11-15'));
    expect(streakOf([...inOrder].reverse(), '2026-11-15')).toEqual(streakOf(inOrder, '2026-11-15'));
  });

  it('refuses what is not a day', () => {
    expect(() => streakOf(['2026-02-30'], '2026-03-01')).toThrow(RangeError);
    expect(() => streakOf([], 'today')).toThrow(RangeError);
  });
});

describe('streakOf: freezes', () => {
  const run = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `2026-10-${String(from + i).padStart(2, '0')}`);

  it('earns one freeze per 7 consecutive days, at most 2', () => {
    expect(streakOf(run(1, 6), '2026-10-06').freezesAvailable).toBe(0);
    expect(streakOf(run(1, 7), '2026-10-07').freezesAvailable).toBe(1);
    expect(streakOf(run(1, 14), '2026-10-14').freezesAvailable).toBe(2);
    expect(streakOf(run(1, 21), '2026-10-21').freezesAvailable).toBe(2);
  });

  it('bridges one missed day with a freeze (spent), the missed day not counted', () => {
    // Active Oct 1-7 (a freeze earned), Oct 8 missed, active Oct 9-10.
    const s = streakOf([...run(1, 7), ...run(9, 10)], '2026-10-10');
    expect(s).toMatchObject({ current: 9, longest: 9, freezesAvailable: 0 });
    // Yesterday missed and today not active yet: the freeze keeps it alive.
    expect(streakOf(run(1, 7), '2026-10-09')).toMatchObject({ current: 7, freezesAvailable: 0 });
  });

  it('fails to bridge two missed days, even with two freezes held', () => {
    // Active Oct 1-14 (two freezes), Oct 15 and 16 missed, active Oct 17.
    const s = streakOf([...run(1, 14), '2026-10-17'], '2026-10-17');
    expect(s).toMatchObject({ current: 1, longest: 14, freezesAvailable: 2 });
    expect(streakOf(run(1, 14), '2026-10-17')).toMatchObject({ current: 0, longest: 14 });
  });

  it('does not bridge a missed day without a freeze', () => {
    expect(streakOf([...run(1, 5), ...run(7, 8)], '2026-10-08')).toMatchObject({ current: 2, longest: 5, freezesAvailable: 0 });
  });
});

describe('streakOf with learning days in time zones', () => {
  it('Europe/Berlin, spring forward (2026-03-29 02:00 CET -> 03:00 CEST): studying at 23:30 local every evening is one unbroken streak', () => {
    // 23:30 local: 22:30Z while CET (UTC+1), 21:30Z from 2026-03-29 (CEST, UTC+2).
    const days = daysIn('Europe/Berlin', ['2026-03-27T22:30:00Z', '2026-03-28T22:30:00Z', '2026-03-29T21:30:00Z', '2026-03-30T21:30:00Z']);
    expect(days).toEqual(['2026-03-27', '2026-03-28', '2026-03-29', '2026-03-30']);
    expect(streakOf(days, '2026-03-30')).toMatchObject({ current: 4 });
    // The same UTC time every day would skip a local day (22:30Z on 03-29 is 00:30 on 03-30).
    expect(learningDay(Date.parse('2026-03-29T22:30:00Z'), 'Europe/Berlin')).toBe('2026-03-30');
  });

  it('Europe/Berlin, fall back (2026-10-25 03:00 CEST -> 02:00 CET): the repeated hour is one day, the next evening the next', () => {
    // 00:30 local on 10-25 is 22:30Z on 10-24 (CEST); 02:30 local happens twice (00:30Z and 01:30Z): both 10-25.
    const days = daysIn('Europe/Berlin', ['2026-10-24T22:30:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:30:00Z', '2026-10-25T22:59:00Z', '2026-10-25T23:00:00Z']);
    expect(days).toEqual(['2026-10-25', '2026-10-25', '2026-10-25', '2026-10-25', '2026-10-26']);
    expect(streakOf(days, '2026-10-26')).toMatchObject({ current: 2 });
  });

  it('America/New_York, spring forward (2026-03-08) and fall back (2026-11-01): late-evening sessions stay on their local days', () => {
    // 23:45 local: 04:45Z next day while EST (UTC-5), 03:45Z while EDT (UTC-4).
    const spring = daysIn('America/New_York', ['2026-03-07T04:45:00Z', '2026-03-08T04:45:00Z', '2026-03-09T03:45:00Z', '2026-03-10T03:45:00Z']);
    expect(spring).toEqual(['2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09']);
    expect(streakOf(spring, '2026-03-09')).toMatchObject({ current: 4 });
    const fall = daysIn('America/New_York', ['2026-10-31T03:45:00Z', '2026-11-01T03:45:00Z', '2026-11-02T04:45:00Z', '2026-11-03T04:45:00Z']);
    expect(fall).toEqual(['2026-10-30', '2026-10-31', '2026-11-01', '2026-11-02']);
    expect(streakOf(fall, '2026-11-02')).toMatchObject({ current: 4 });
  });

  it('Asia/Kolkata (+05:30): a minute either side of local midnight lands on two days', () => {
    // 18:29Z = 23:59 IST; 18:31Z = 00:01 IST the next day.
    const days = daysIn('Asia/Kolkata', ['2026-11-21T18:29:00Z', '2026-11-21T18:31:00Z']);
    expect(days).toEqual(['2026-11-21', '2026-11-22']);
    expect(streakOf(days, learningDay(Date.parse('2026-11-22T06:00:00Z'), 'Asia/Kolkata'))).toMatchObject({ current: 2, activeToday: true });
  });

  it('Pacific/Kiritimati (+14:00): its days run a calendar day ahead of UTC', () => {
    // 10:30Z = 00:30 the next day in Kiritimati; 09:30Z = 23:30 the same day.
    const days = daysIn('Pacific/Kiritimati', ['2026-11-20T09:30:00Z', '2026-11-20T10:30:00Z', '2026-11-21T10:30:00Z']);
    expect(days).toEqual(['2026-11-20', '2026-11-21', '2026-11-22']);
    // At 12:00Z on 11-22 it is already 02:00 on 11-23 there: today is 11-23, not yet active, and
    // the three days up to yesterday still count.
    const today = learningDay(Date.parse('2026-11-22T12:00:00Z'), 'Pacific/Kiritimati');
    expect(today).toBe('2026-11-23');
    expect(streakOf(days, today)).toMatchObject({ current: 3, activeToday: false });
    // In UTC those same instants are two days (11-20 twice, 11-21): a zone is not a detail.
    expect(streakOf(daysIn('UTC', ['2026-11-20T09:30:00Z', '2026-11-20T10:30:00Z', '2026-11-21T10:30:00Z']), '2026-11-22')).toMatchObject({ current: 2 });
  });

  it('across a zone change mid-streak: each event takes the zone in force, and no counted day vanishes or counts twice', () => {
    // Tokyo (UTC+9) until 2026-11-20, then New York (UTC-5). 21:00 local each day.
    const tokyo = daysIn('Asia/Tokyo', ['2026-11-17T12:00:00Z', '2026-11-18T12:00:00Z', '2026-11-19T12:00:00Z']);
    const newYork = daysIn('America/New_York', ['2026-11-21T02:00:00Z', '2026-11-22T02:00:00Z']);
    expect([...tokyo, ...newYork]).toEqual(['2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
    // Delivered in reverse order: the same streak.
    const all = [...tokyo, ...newYork];
    expect(streakOf([...all].reverse(), '2026-11-21')).toEqual(streakOf(all, '2026-11-21'));
    expect(streakOf(all, '2026-11-21')).toMatchObject({ current: 5, longest: 5 });
  });
});

describe('the stored streak state (what the scripts keep) agrees with streakOf', () => {
  const dayStr = (n: number) => new Date(n * 86_400_000).toISOString().slice(0, 10);
  // A fixed pseudo-random sequence (no Math.random: a failure must replay).
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

  it('for 2,000 random day sets, built in order, in reverse and all at once, on every day from the last to 3 after', () => {
    for (let trial = 0; trial < 2000; trial += 1) {
      const start = 20_400; // 2025-11-08
      const days: number[] = [];
      const span = 1 + Math.floor(rnd() * 40);
      const density = 0.4 + rnd() * 0.6;
      for (let n = start; n < start + span; n += 1) if (rnd() < density) days.push(n);
      if (days.length === 0) continue;
      let inOrder = NO_STREAK;
      for (const d of days) inOrder = advanceStreak(inOrder, d);
      const reversed = streakStateOf([...days].reverse());
      expect(reversed).toEqual(inOrder);
      const last = days[days.length - 1]!;
      for (let today = last; today <= last + 3; today += 1) {
        const expected = streakOf(days.map(dayStr), dayStr(today));
        expect(streakAt(inOrder, today, days.includes(today))).toEqual(expected);
      }
    }
  });

  it('a year-long streak: 365 days, 2 freezes held, longest 365', () => {
    const s = streakStateOf(Array.from({ length: 365 }, (_, i) => 20_000 + i));
    expect(s).toEqual({ run: 365, last: 20_364, freezes: 2, longest: 365 });
    expect(streakAt(s, 20_366, false)).toMatchObject({ current: 365, freezesAvailable: 1 });
    expect(streakAt(s, 20_367, false)).toMatchObject({ current: 0, longest: 365 });
  });
});
