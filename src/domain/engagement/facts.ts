import { NO_STREAK, streakAt, type Streak, type StreakState } from './streak';
import type { GoalDay } from './goals';
import { dayAt, type ZoneHistory } from './zones';

/**
 * What a learner's profile and streak read from their hash in one step (`dn`, `tzh`, the
 * streak fields, and whether each day around the current UTC day is active: the learner's
 * today is one of them in every zone, UTC-12 to UTC+14).
 */
export interface EngagementFacts {
  displayName: string | null;
  zones: ZoneHistory;
  streak: StreakState;
  /** Active days among the UTC day before, of and after the read. */
  activeNear: ReadonlySet<number>;
  /** Standing goal targets (GOAL_KINDS order) and the day each applies from. */
  goalTargets: readonly [number, number, number, number];
  goalTargetsFrom: readonly [number, number, number, number];
  /** The recent learning days toward goals the hash keeps (at most GOAL_DAYS). */
  goalDays: readonly GoalDay[];
}

export const NO_ENGAGEMENT: EngagementFacts = {
  displayName: null,
  zones: [],
  streak: NO_STREAK,
  activeNear: new Set(),
  goalTargets: [0, 0, 0, 0],
  goalTargetsFrom: [0, 0, 0, 0],
  goalDays: [],
};

/**
 * The learner's zone now: the one they set last. (Not zoneAt(now): a change is stamped after the
 * previous one even when made in the same millisecond or by a server whose clock is ahead, and
 * the zone just set must be the one shown.) Pure.
 */
export function zoneNow(f: EngagementFacts): string {
  const last = f.zones[f.zones.length - 1];
  return last ? last[1] : 'UTC';
}

/** The learner's streak at `now` (their day in their zone now). Pure. */
export function streakNow(f: EngagementFacts, now: number): Streak {
  const today = dayAt(f.zones, now);
  return streakAt(f.streak, today, f.activeNear.has(today));
}
