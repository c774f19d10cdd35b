/**
 * Board periods: DAILY, WEEKLY (ISO weeks, Monday 00:00 UTC) and MONTHLY, in UTC. A period is
 * named by its key (`2026-11-22`, `2026-W47`, `2026-11`); the key alone says its kind, and keys
 * of one kind sort as text in time order. Pure: instants come in as ms since 1970, nothing here
 * reads the clock.
 */

export type PeriodKind = 'DAILY' | 'WEEKLY' | 'MONTHLY';

export const PERIOD_KINDS: readonly PeriodKind[] = ['DAILY', 'WEEKLY', 'MONTHLY'];

/** Finished periods of each kind that stay queryable (and kept in Redis) after the current one. */
export const RETAINED_PERIODS = 12;

/**
 * How long after a period's grace window a learner's hash still keeps its score: an event
 * stamped just inside the window may reach its script a little after another event stamped just
 * outside it (clocks of two instances, a slow request), and must still find the score to add to.
 */
export const PERIOD_KEEP_MARGIN_MS = 3_600_000;

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** ISO weekday, Monday 1 .. Sunday 7, of the UTC day holding `at`. */
function isoWeekday(at: number): number {
  return ((new Date(at).getUTCDay() + 6) % 7) + 1;
}

/** Midnight UTC of the day holding `at`. */
function dayStart(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/** The Monday 00:00 UTC starting ISO week 1 of `year` (the week holding January 4th). */
function isoYearStart(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  return jan4 - (isoWeekday(jan4) - 1) * DAY_MS;
}

/** The ISO week-year and week of the instant `at`. */
function isoWeekOf(at: number): { year: number; week: number } {
  const monday = dayStart(at) - (isoWeekday(at) - 1) * DAY_MS;
  // The week belongs to the year of its Thursday.
  const year = new Date(monday + 3 * DAY_MS).getUTCFullYear();
  return { year, week: Math.floor((monday - isoYearStart(year)) / WEEK_MS) + 1 };
}

/** ISO weeks in a week-year: 53 when December 28th (always in the year's last week) is in week 53. */
function isoWeeksIn(year: number): number {
  return isoWeekOf(Date.UTC(year, 11, 28)).week;
}

/** The key of the period of `kind` holding the instant `at`. Pure. */
export function periodKeyOf(kind: PeriodKind, at: number): string {
  const d = new Date(at);
  switch (kind) {
    case 'DAILY':
      return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case 'MONTHLY':
      return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}`;
    case 'WEEKLY': {
      const { year, week } = isoWeekOf(at);
      return `${pad(year, 4)}-W${pad(week)}`;
    }
  }
}

/** A period: its kind, key, and [start, end) in ms. */
export interface Period {
  kind: PeriodKind;
  key: string;
  start: number;
  end: number;
}

const DAY_KEY = /^(\d{4})-(\d{2})-(\d{2})$/;
const WEEK_KEY = /^(\d{4})-W(\d{2})$/;
const MONTH_KEY = /^(\d{4})-(\d{2})$/;

/** Years a key may name: what events may carry (service backfills reach back to 2000). */
const FIRST_YEAR = 1970;
const LAST_YEAR = 9999;

/**
 * The period a key names, or null when it names none: a malformed key, a date that does not
 * exist (`2026-02-30`), a week the year does not have (`2026-W53`). Pure.
 */
export function parsePeriodKey(key: string): Period | null {
  let m = DAY_KEY.exec(key);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (y < FIRST_YEAR || y > LAST_YEAR || mo < 1 || mo > 12 || d < 1) return null;
    const start = Date.UTC(y, mo - 1, d);
    if (new Date(start).getUTCDate() !== d) return null;
    return { kind: 'DAILY', key, start, end: start + DAY_MS };
  }
  m = WEEK_KEY.exec(key);
  if (m) {
    const [y, w] = [Number(m[1]), Number(m[2])];
    if (y < FIRST_YEAR || y > LAST_YEAR || w < 1 || w > isoWeeksIn(y)) return null;
    const start = isoYearStart(y) + (w - 1) * WEEK_MS;
    return { kind: 'WEEKLY', key, start, end: start + WEEK_MS };
  }
  m = MONTH_KEY.exec(key);
  if (m) {
    const [y, mo] = [Number(m[1]), Number(m[2])];
    if (y < FIRST_YEAR || y > LAST_YEAR || mo < 1 || mo > 12) return null;
    return { kind: 'MONTHLY', key, start: Date.UTC(y, mo - 1, 1), end: Date.UTC(y, mo, 1) };
  }
  return null;
}

/**
 * The period a well-formed key names.
 * @throws Error for a key parsePeriodKey refuses (callers pass keys made here)
 */
export function periodOf(key: string): Period {
  const p = parsePeriodKey(key);
  if (!p) throw new Error(`Not a period key: ${key}`);
  return p;
}

/** The period `n` periods after `key`'s (before it when `n` is negative), of the same kind. Pure. */
export function shiftPeriod(key: string, n: number): string {
  const p = periodOf(key);
  if (p.kind === 'MONTHLY') {
    const d = new Date(p.start);
    return periodKeyOf('MONTHLY', Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
  }
  return periodKeyOf(p.kind, p.start + n * (p.kind === 'DAILY' ? DAY_MS : WEEK_MS));
}

/**
 * Whether a period still takes XP from an event recorded at `recordedAt`: until its end plus the
 * grace window (late events of a finished period), then it is frozen. Pure.
 */
export function isPeriodOpen(key: string, recordedAt: number, graceMs: number): boolean {
  return recordedAt < periodOf(key).end + graceMs;
}

/**
 * The periods an event's XP counts in: for each kind, the period holding `occurredAt`, when it
 * is still open at `recordedAt`. An event too late for its period's grace window counts for
 * ALL_TIME only. Pure.
 */
export function openPeriodKeys(occurredAt: number, recordedAt: number, graceMs: number): string[] {
  return PERIOD_KINDS.map((kind) => periodKeyOf(kind, occurredAt)).filter((key) => isPeriodOpen(key, recordedAt, graceMs));
}

/**
 * The oldest period of each kind a learner's hash keeps at `now`: older ones are frozen (past
 * their grace window, plus PERIOD_KEEP_MARGIN_MS) and their scores are dropped from the hash. Pure.
 */
export function keptPeriodsFrom(now: number, graceMs: number): Record<PeriodKind, string> {
  const at = now - graceMs - PERIOD_KEEP_MARGIN_MS;
  return { DAILY: periodKeyOf('DAILY', at), WEEKLY: periodKeyOf('WEEKLY', at), MONTHLY: periodKeyOf('MONTHLY', at) };
}

/**
 * Whether a period's board can be asked for at `now`: the current period and the
 * RETAINED_PERIODS finished before it. Pure.
 */
export function isPeriodRetained(key: string, now: number): boolean {
  const p = periodOf(key);
  const current = periodKeyOf(p.kind, now);
  return key <= current && key >= shiftPeriod(current, -RETAINED_PERIODS);
}

/**
 * When a period's board is dropped from Redis: once RETAINED_PERIODS later periods have ended,
 * plus the grace window (the board's keys expire then, on their own). Pure.
 */
export function periodBoardExpiresAt(key: string, graceMs: number): number {
  return periodOf(shiftPeriod(key, RETAINED_PERIODS)).end + graceMs;
}

/** The oldest period of `kind` still retained at `now` (see isPeriodRetained). Pure. */
export function oldestRetainedPeriod(kind: PeriodKind, now: number): string {
  return shiftPeriod(periodKeyOf(kind, now), -RETAINED_PERIODS);
}
