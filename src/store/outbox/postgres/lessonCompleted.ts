import { ledgerIdOf, periodFlagsOf, type EntryOf } from '../entry';
import type { RowSet } from './rows';

/**
 * The rows of a lesson's completion, whichever event made it (LESSON_COMPLETED, or a watch
 * that reached the threshold): the progress row's completion and the lesson's ledger row
 * (unique on learner x lesson through the ledger's (learner, reason, source) index).
 */
export function completionRows(
  rows: RowSet,
  c: { learnerId: string; lessonId: string; courseId: string; eventKey: string; xp: number; video: boolean; at: Date; periods: number },
): void {
  rows.lessonCompleted(c.learnerId, c.lessonId, c.courseId, c.at, c.video);
  if (c.xp > 0) {
    rows.pay({ id: ledgerIdOf(c.eventKey), learner_id: c.learnerId, amount: c.xp, reason: 'lesson_completed', source_id: c.lessonId, course_id: c.courseId, occurred_at: c.at, periods: c.periods });
  }
}

/** LESSON_COMPLETED: the completion rows and the enrollment's new totals. */
export function lessonCompleted(entry: EntryOf<'lesson_completed'>, rows: RowSet): void {
  // Entries written before watch time counted no video (vd absent): neither did Redis.
  completionRows(rows, { learnerId: entry.l, lessonId: entry.ls, courseId: entry.c, eventKey: entry.id, xp: entry.x, video: entry.vd === true, at: new Date(entry.oa), periods: periodFlagsOf(entry) });
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
}
