import { keptPeriodsFrom, openPeriodKeys } from '../../domain/boards/periods';
import type { LearningEvent } from '../../domain/events/types';

/**
 * What a learner script is told about its event besides the header (ARGV[10], JSON; see
 * lua/includes/eventHeader.lua): `d`, the event's learning day as days since 1970-01-01, and
 * `z`, the version of the learner's zone history that day was computed with.
 */
export interface EventContext {
  d: number;
  z: number;
}

const DAY_MS = 86_400_000;

/** The context of `event` for a learner in UTC (zone version 0). */
export function eventContext(event: Pick<LearningEvent, 'occurredAt'>): EventContext {
  return { d: Math.floor(event.occurredAt / DAY_MS), z: 0 };
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
