/**
 * Learning sessions: runs of activity, as `LearnerStats.sessions` and `totalTimeSeconds`
 * count them. Pure.
 *
 * Callers split activity by learning day (see `learningDay`) and call `sessionsOf` with one
 * day's event times; a session that runs past midnight in the learner's zone counts once on
 * each day. Per-day keys keep the upkeep O(events that day): a new event only recomputes its
 * own day, and a late or out-of-order backfill costs the same as a live event, instead of
 * re-reading the learner's whole history to find where it falls.
 */

/** The longest pause inside one session: a gap of exactly 30 minutes still continues it. */
export const SESSION_GAP_MS = 30 * 60_000;

/** What a lone event, or a session shorter than this, counts for. */
export const LONE_EVENT_SECONDS = 60;

/** Sessions in a set of event times and the time they cover. */
export interface SessionSummary {
  sessions: number;
  seconds: number;
}

/**
 * Sessions in `times` (ms since epoch; any order, duplicates allowed): a session is a run of
 * events with no gap over `SESSION_GAP_MS` between neighbours. A session counts
 * `max(LONE_EVENT_SECONDS, floor((last - first) / 1000))` seconds: its span in whole seconds,
 * but at least 60 s, so a lone event and a very short session both count one minute (an event
 * stands for some activity before it that we did not see). Pure.
 */
export function sessionsOf(times: readonly number[]): SessionSummary {
  if (times.length === 0) return { sessions: 0, seconds: 0 };
  const sorted = [...times].sort((a, b) => a - b);
  let sessions = 0;
  let seconds = 0;
  let first = sorted[0]!;
  let last = first;
  const close = (): void => {
    sessions += 1;
    seconds += Math.max(LONE_EVENT_SECONDS, Math.floor((last - first) / 1000));
  };
  for (let i = 1; i < sorted.length; i += 1) {
    const t = sorted[i]!;
    if (t - last > SESSION_GAP_MS) {
      close();
      first = t;
    }
    last = t;
  }
  close();
  return { sessions, seconds };
}
