import { z } from 'zod';
import type { Catalog, Course } from '../catalog/types';
import { BadInput } from '../errors';
import type { EventKind } from '../events/types';
import { decodeCursor } from '../learners/service';
import type { EnrollmentState, StatCounters } from '../learners/state';
import type { ActivityReads } from '../ports';
import { courseProgress } from '../progress/rules';
import { parseInput } from '../validation';

/** Most days `activityCalendar` answers at once (a year, leap years included). */
export const MAX_CALENDAR_DAYS = 366;
/** Most activities one `recentActivity` page holds. */
export const MAX_ACTIVITY_PAGE = 100;

const DAY_MS = 86_400_000;
/** An activity's id: its event key. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A learner's activity totals as Postgres holds them, with the learner's version there. */
export interface ActivityTotals {
  /** The learners row's version (0 when Postgres has never seen the learner). */
  version: number;
  activeDays: number;
  sessions: number;
  seconds: number;
}

/** One stored day. */
export interface DayRow {
  xp: number;
  events: number;
  seconds: number;
}

/** One day of the calendar (zero-filled). */
export interface ActivityDay {
  date: string;
  xp: number;
  events: number;
  timeSpentSeconds: number;
}

/** One activity as stored. */
export interface ActivityRecord {
  /** The event key. */
  id: string;
  type: EventKind;
  /** The course (ENROLLED), lesson or quiz the event was about. */
  target: string;
  courseId: string | null;
  /** The quiz's score (QUIZ_ATTEMPTED), the seconds added (WATCHED); else null. */
  value: number | null;
  /** XP the event paid (its own and its badges'); null when it paid nothing. */
  xp: number | null;
  /** ms */
  occurredAt: number;
}

/** `LearnerStats`. */
export interface LearnerStats {
  totalWatchTimeSeconds: number;
  videosCompleted: number;
  lessonsCompleted: number;
  quizzesTaken: number;
  quizzesPassed: number;
  averageQuizScore: number | null;
  activeDays: number;
  sessions: number;
  totalTimeSeconds: number;
  coursesEnrolled: number;
  coursesCompleted: number;
  completionRate: number;
}

const dayNumber = (day: string): number => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const dayOfNumber = (n: number): string => new Date(n * DAY_MS).toISOString().slice(0, 10);

/**
 * Every day from `from` to `to` (both 'YYYY-MM-DD', validated by the Date scalar), zero-filled
 * from the stored rows. Pure.
 * @throws BadInput when `from` is after `to` or the range holds more than MAX_CALENDAR_DAYS days
 */
export function calendarOf(from: string, to: string, stored: ReadonlyMap<string, DayRow>): ActivityDay[] {
  const first = calendarRange(from, to);
  const last = dayNumber(to);
  const out: ActivityDay[] = [];
  for (let n = first; n <= last; n += 1) {
    const date = dayOfNumber(n);
    const d = stored.get(date);
    out.push({ date, xp: d?.xp ?? 0, events: d?.events ?? 0, timeSpentSeconds: d?.seconds ?? 0 });
  }
  return out;
}

/** @returns the first day's number. @throws BadInput for a reversed or too long range */
function calendarRange(from: string, to: string): number {
  const a = dayNumber(from);
  const b = dayNumber(to);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new BadInput('A Date is a calendar day, YYYY-MM-DD.', 'from');
  if (a > b) throw new BadInput(`Invalid from: ${from} is after to (${to}).`, 'from');
  if (b - a + 1 > MAX_CALENDAR_DAYS) throw new BadInput(`Invalid to: a calendar holds at most ${MAX_CALENDAR_DAYS} days (${from} to ${to} is ${b - a + 1}).`, 'to');
  return a;
}

/**
 * `LearnerStats` from the hash counters, the enrollments and the activity totals. Pure.
 * `completionRate` is the mean of the enrollments' completion rates (`courseProgress`), 0 with
 * none; an enrollment whose course left the catalog counts 0 (or 1 once completed).
 */
export function statsOf(counters: StatCounters, enrollments: readonly EnrollmentState[], totals: ActivityTotals, catalog: Catalog): LearnerStats {
  let rateSum = 0;
  let completed = 0;
  for (const e of enrollments) {
    if (e.completedAt !== null) completed += 1;
    const course: Course | undefined = catalog.course(e.courseId);
    rateSum += course
      ? courseProgress(course, e, { passedQuizzes: e.quizzesPassed, watchTimeSeconds: e.watchSeconds }).completionRate
      : e.completedAt !== null
        ? 1
        : 0;
  }
  return {
    totalWatchTimeSeconds: counters.watchSeconds,
    videosCompleted: counters.videosCompleted,
    lessonsCompleted: counters.lessonsCompleted,
    quizzesTaken: counters.quizzesTaken,
    quizzesPassed: counters.quizzesPassed,
    averageQuizScore: counters.bestScoreCount > 0 ? counters.bestScoreSum / counters.bestScoreCount : null,
    activeDays: totals.activeDays,
    sessions: totals.sessions,
    totalTimeSeconds: totals.seconds,
    coursesEnrolled: enrollments.length,
    coursesCompleted: completed,
    completionRate: enrollments.length === 0 ? 0 : rateSum / enrollments.length,
  };
}

/** Quotes a title for a sentence. */
const q = (title: string): string => `\u201c${title}\u201d`;

/**
 * A human sentence for an activity, from the catalog's titles (the id when the catalog no
 * longer has it). Pure.
 */
export function describeActivity(a: ActivityRecord, catalog: Catalog): string {
  const lesson = () => catalog.lesson(a.target);
  switch (a.type) {
    case 'ENROLLED':
      return `Enrolled in ${q(catalog.course(a.target)?.title ?? a.target)}`;
    case 'LESSON_COMPLETED':
      return `Completed lesson ${q(lesson()?.title ?? a.target)}`;
    case 'WATCHED':
      return `Watched ${a.value ?? 0} s of ${q(lesson()?.title ?? a.target)}`;
    case 'QUIZ_ATTEMPTED':
      return `Scored ${a.value ?? 0} on quiz ${q(catalog.quiz(a.target)?.title ?? a.target)}`;
    case 'ACCESSED':
      return `Opened lesson ${q(lesson()?.title ?? a.target)}`;
    case 'LOGGED_IN':
      return 'Showed up for the day';
    default:
      return `${String(a.type)} ${q(a.target)}`;
  }
}

/** Opaque cursor of an activity: base64url of `<occurredAt>:<event key>`. */
export function activityCursor(a: { occurredAt: number; id: string }): string {
  return Buffer.from(`${a.occurredAt}:${a.id}`, 'utf8').toString('base64url');
}

const pageSize = z
  .number()
  .int('first is a whole number.')
  .min(0, 'first cannot be negative.')
  .max(MAX_ACTIVITY_PAGE, `first is at most ${MAX_ACTIVITY_PAGE}.`)
  .default(20);

/** Activity history, the calendar and the stats' activity part, read-your-writes. */
export class ActivityService {
  constructor(private readonly reads: ActivityReads) {}

  /** The barrier and the totals (see ActivityReads.totals). */
  totals(learnerId: string, redisVersion: number): Promise<ActivityTotals> {
    return this.reads.totals(learnerId, redisVersion);
  }

  /**
   * Every day in [from, to], zero-filled; `ready` is the read-your-writes barrier (the
   * request's totals loader), awaited after the range is checked.
   * @throws BadInput for a reversed range or one over MAX_CALENDAR_DAYS days
   */
  async calendar(learnerId: string, from: string, to: string, ready: () => Promise<unknown>): Promise<ActivityDay[]> {
    calendarRange(from, to);
    await ready();
    return calendarOf(from, to, await this.reads.days(learnerId, from, to));
  }

  /**
   * One page of activities, newest first.
   * @throws BadInput for `first` outside 0..MAX_ACTIVITY_PAGE or a cursor this API did not hand out
   */
  async recent(learnerId: string, first: number | null | undefined, after: string | null | undefined, ready: () => Promise<unknown>): Promise<{ items: ActivityRecord[]; hasNextPage: boolean }> {
    const limit = parseInput(pageSize, first ?? undefined, 'first');
    const cursor = after ? decodeCursor(after) : null;
    if (cursor && !UUID.test(cursor.id)) throw new BadInput('That cursor is not one this API handed out.', 'after');
    await ready();
    const rows = await this.reads.recent(learnerId, limit + 1, cursor);
    return { items: rows.slice(0, limit), hasNextPage: rows.length > limit };
  }
}
