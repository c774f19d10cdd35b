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
