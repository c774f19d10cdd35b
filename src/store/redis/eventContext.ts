import { dayAt, dayString, decodeZoneHistory, zoneVersion, type ZoneHistory } from '../../domain/engagement/zones';
import { keptPeriodsFrom, openPeriodKeys } from '../../domain/boards/periods';
import type { LearningEvent } from '../../domain/events/types';

/**
 * What a learner script is told about its event besides the header (ARGV[10], JSON; see
 * lua/includes/eventHeader.lua and activeDay.lua): `d`, the event's learning day as days since
 * 1970-01-01 (its calendar date in the learner's zone in force when it occurred); `t`, the
 * learner's day when it is recorded (in the zone in force then); `z`, the version of the zone
 * history both were computed with.
 */
export interface EventContext {
  d: number;
  t: number;
  z: number;
  /** `d` as 'YYYY-MM-DD' (goal bonuses name their day in the ledger). */
  ds: string;
  /** The XP a completed daily goal pays (config GOAL_BONUS_XP). */
  gb: number;
}

/** The context of `event` for a learner whose zone history is `history`. */
export function eventContext(event: Pick<LearningEvent, 'occurredAt' | 'recordedAt'>, history: ZoneHistory = [], goalBonus = 0): EventContext {
  const d = dayAt(history, event.occurredAt);
  return { d, t: dayAt(history, event.recordedAt), z: zoneVersion(history), ds: dayString(d), gb: goalBonus };
}

/**
 * Zone histories of learners who set a zone, as this process last saw them (bounded; a miss
 * means "UTC", and a script that finds another history answers it, so a stale or missing entry
 * costs one more run of the script, never a wrong day).
 */
export class ZoneCache {
  private readonly map = new Map<string, ZoneHistory>();
  constructor(private readonly max = 100_000) {}

  get(learnerId: string): ZoneHistory {
    return this.map.get(learnerId) ?? [];
  }

  /** Remember the history a script answered (`tzh`). */
  set(learnerId: string, tzh: string): ZoneHistory {
    const history = decodeZoneHistory(tzh);
    this.map.delete(learnerId);
    if (history.length > 0) {
      this.map.set(learnerId, history);
      if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
    }
    return history;
  }
}

/**
 * The board periods of an event, added to its context (see lua/includes/periodXp.lua): `p`, the
 * period keys of its occurredAt still open at its recordedAt (its XP counts in them), and `k`,
 * the oldest key of each kind (DAILY, WEEKLY, MONTHLY) a learner's hash keeps at its recordedAt.
 */
export interface PeriodContext {
  p: string[];
  k: [string, string, string];
}

/** The period part of `event`'s context, with late events taking `graceMs` after a period ends. */
export function periodContext(event: Pick<LearningEvent, 'occurredAt' | 'recordedAt'>, graceMs: number): PeriodContext {
  const kept = keptPeriodsFrom(event.recordedAt, graceMs);
  return { p: openPeriodKeys(event.occurredAt, event.recordedAt, graceMs), k: [kept.DAILY, kept.WEEKLY, kept.MONTHLY] };
}
