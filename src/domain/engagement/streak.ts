import { isValidDay } from '../activity/days';

/**
 * Streaks, from the set of a learner's active learning days (API.md "Streaks and days").
 * Pure: the days come in as 'YYYY-MM-DD' (each the learning day of an event, in the zone in
 * force when it occurred: `learningDay`), and `today` is the learner's current learning day.
 * Because the result depends only on the set, events that arrive late or out of order give the
 * same streak as in-order ones, and a day counted once is never lost or counted twice.
 *
 * The rules:
 * - `current`: consecutive active days ending today or yesterday (today is not over, so a
 *   streak that reached yesterday is still alive); 0 once a whole day is missed.
 * - A freeze is earned on every 7th consecutive day of a run (at most 2 held) and is spent
 *   automatically on a single missed day between active days, or on yesterday when today is
 *   not active yet; the missed day keeps the run alive without adding to it. Two or more missed
 *   days in a row break the run whatever is held (held freezes are kept).
 * - `longest` is the longest run ever (never decreases).
 */

export interface Streak {
  current: number;
  longest: number;
  /** The latest active day, or null before any. */
  lastActiveDate: string | null;
  activeToday: boolean;
  freezesAvailable: number;
}

/** One freeze per this many consecutive days. */
export const DAYS_PER_FREEZE = 7;
/** Most freezes held at once. */
export const MAX_FREEZES = 2;

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a calendar date (calendar arithmetic on a date, no time zone in it). */
function dayNumber(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;
}

/**
 * The streak of a learner whose active days are `days` (any order, repeats allowed), on the
 * learning day `today`. Days after `today` (an event from a zone ahead, a clock skew) count as
 * active days but not past today. Cost: O(days between the first active day and today).
 * @throws RangeError for a day that is not a real 'YYYY-MM-DD' date
 */
export function streakOf(days: Iterable<string>, today: string): Streak {
  if (!isValidDay(today)) throw new RangeError(`Not a day: ${today}`);
  const active = new Set<number>();
  let last: string | null = null;
  for (const d of days) {
    if (!isValidDay(d)) throw new RangeError(`Not a day: ${d}`);
    active.add(dayNumber(d));
    if (last === null || d > last) last = d;
  }
  const end = dayNumber(today);
  const activeToday = active.has(end);
  if (active.size === 0) return { current: 0, longest: 0, lastActiveDate: null, activeToday: false, freezesAvailable: 0 };

  let first = Infinity;
  for (const n of active) if (n < first) first = n;
  let run = 0;
  let longest = 0;
  let freezes = 0;
  let missed = 0;
  // Walk every day from the first active one to today. Missed days are settled when the next
  // active day comes (or at the end): one alone is bridged by a freeze if one is held.
  const settleGap = () => {
    if (missed === 0) return;
    if (missed === 1 && freezes > 0) freezes -= 1;
    else run = 0;
    missed = 0;
  };
  for (let n = first; n <= end; n += 1) {
    if (active.has(n)) {
      settleGap();
      run += 1;
      if (run % DAYS_PER_FREEZE === 0) freezes = Math.min(MAX_FREEZES, freezes + 1);
      if (run > longest) longest = run;
    } else if (n < end) {
      // Today is not over: only whole days count as missed.
      missed += 1;
    }
  }
  settleGap();
  return { current: run, longest, lastActiveDate: last, activeToday, freezesAvailable: freezes };
}

/**
 * The streak as a learner's hash keeps it (lua/includes/activeDay.lua): the run, held freezes
 * and longest run as of the latest active day `last` (a day number), with every gap before it
 * settled. The scripts move it forward one new day at a time (`advanceStreak`) and rebuild it
 * from the day set when a late day lands before `last` (`streakStateOf`); `streakAt` turns it
 * into the streak of a given day. The three agree with `streakOf` (streak.test.ts checks it).
 */
export interface StreakState {
  run: number;
  /** The latest active day (days since 1970-01-01), or null before any. */
  last: number | null;
  freezes: number;
  longest: number;
}

export const NO_STREAK: StreakState = { run: 0, last: null, freezes: 0, longest: 0 };

/** The state after a new latest active day `day` (> state.last). Pure. */
export function advanceStreak(s: StreakState, day: number): StreakState {
  let { run, freezes } = s;
  if (s.last !== null) {
    const missed = day - s.last - 1;
    if (missed === 1 && freezes > 0) freezes -= 1;
    else if (missed > 0) run = 0;
  }
  run += 1;
  if (run % DAYS_PER_FREEZE === 0) freezes = Math.min(MAX_FREEZES, freezes + 1);
  return { run, last: day, freezes, longest: Math.max(s.longest, run) };
}

/** The state of a set of active day numbers (any order, repeats allowed). Pure. */
export function streakStateOf(days: Iterable<number>): StreakState {
  let s = NO_STREAK;
  for (const day of [...new Set(days)].sort((a, b) => a - b)) s = advanceStreak(s, day);
  return s;
}

/**
 * The streak on learning day `today` (a day number) of a learner in state `s`; `activeToday`
 * says whether `today` is one of their active days. A latest day after `today` (an event from a
 * zone ahead) counts as if it were today. Pure.
 */
export function streakAt(s: StreakState, today: number, activeToday: boolean): Streak {
  if (s.last === null) return { current: 0, longest: 0, lastActiveDate: null, activeToday: false, freezesAvailable: 0 };
  let current = s.run;
  let freezes = s.freezes;
  const missed = today - s.last - 1;
  if (missed === 1 && freezes > 0) freezes -= 1;
  else if (missed > 0) current = 0;
  return { current, longest: s.longest, lastActiveDate: new Date(s.last * DAY_MS).toISOString().slice(0, 10), activeToday, freezesAvailable: freezes };
}
