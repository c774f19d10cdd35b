/** Event time rules. Pure: `now` is passed in. */

/** How far ahead of the server's clock an event may claim to have happened (clock skew). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** How far back a learner may date their own events (offline apps syncing late). */
export const LEARNER_BACKFILL_MS = 7 * 86_400_000;
/** No event is older than this (services backfilling history). */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);

/**
 * Why `occurredAt` is not acceptable, or null when it is. Learners may date events from the
 * last 7 days up to 5 minutes ahead; services may backfill any time since 2000, never more
 * than 5 minutes ahead.
 */
export function eventTimeProblem(occurredAt: number, now: number, mayBackfill: boolean): string | null {
  if (!Number.isFinite(occurredAt)) return 'occurredAt is not a valid instant.';
  if (occurredAt > now + MAX_CLOCK_SKEW_MS) return 'occurredAt is in the future (more than 5 minutes ahead of the server clock).';
  if (occurredAt < EARLIEST_EVENT_MS) return 'occurredAt is before 2000-01-01.';
  if (!mayBackfill && occurredAt < now - LEARNER_BACKFILL_MS) {
    return 'occurredAt is more than 7 days ago; only service callers may backfill older events.';
  }
  return null;
}
