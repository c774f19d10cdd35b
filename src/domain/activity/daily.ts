/**
 * Per-day activity aggregates, as `activity_days` keeps them and `activityCalendar` and
 * `LearnerStats` read them. Pure.
 *
 * A day's row is recomputed from that day's activity (its event times and XP) whenever an
 * activity lands on it: O(events that day), and the same result whatever order the events
 * arrived in (a late backfill costs what a live event costs). The learner's totals move by
 * the difference between the day's new row and the one stored, so they are always the sum of
 * the days. Sessions are counted per learning day: a session that runs past midnight counts
 * once on each day (see `sessionsOf`).
 */
import { sessionsOf } from './sessions';

/** One learning day of one learner. */
export interface DayAggregates {
  /** XP paid by the day's events (their own and their badges'). */
  xp: number;
  /** Activities recorded on the day. */
  events: number;
  /** Sessions on the day (`sessionsOf`). */
  sessions: number;
  /** Seconds the day's sessions cover (`sessionsOf`). */
  seconds: number;
}

/** How a learner's totals move when one day's row changes. */
export interface TotalsDelta {
  /** 1 when the day was not active before, else 0. */
  activeDays: number;
  events: number;
  sessions: number;
  seconds: number;
}

/**
 * A day's new row from every activity time on it now (`times`, ms, any order) and the XP they
 * paid in all, and how the learner's totals move from the row stored before (`stored`, null
 * when the day had no row). Pure.
 */
export function dayUpdate(stored: DayAggregates | null, times: readonly number[], xp: number): { day: DayAggregates; delta: TotalsDelta } {
  const { sessions, seconds } = sessionsOf(times);
  const day: DayAggregates = { xp, events: times.length, sessions, seconds };
  const before = stored ?? { xp: 0, events: 0, sessions: 0, seconds: 0 };
  return {
    day,
    delta: {
      activeDays: before.events === 0 && day.events > 0 ? 1 : 0,
      events: day.events - before.events,
      sessions: day.sessions - before.sessions,
      seconds: day.seconds - before.seconds,
    },
  };
}

/**
 * One new activity at `at` paying `xp`, added to a day whose activity times were `times` (and
 * whose row is `stored`): the day's new row and the totals' difference. Pure.
 */
export function addToDay(stored: DayAggregates | null, times: readonly number[], at: number, xp: number): { day: DayAggregates; delta: TotalsDelta } {
  return dayUpdate(stored, [...times, at], (stored?.xp ?? 0) + xp);
}
