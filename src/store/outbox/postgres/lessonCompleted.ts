import { ledgerIdOf, type EntryOf } from '../entry';
import type { RowSet } from './rows';

/** LESSON_COMPLETED: the progress row, the enrollment's new totals and the lesson's ledger row. */
export function lessonCompleted(entry: EntryOf<'lesson_completed'>, rows: RowSet): void {
  const at = new Date(entry.oa);
  rows.lessonCompleted({ learner_id: entry.l, lesson_id: entry.ls, course_id: entry.c, completed_at: at, updated_at: at });
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
  if (entry.x > 0) {
    rows.pay({ id: ledgerIdOf(entry.id), learner_id: entry.l, amount: entry.x, reason: 'lesson_completed', source_id: entry.ls, course_id: entry.c, occurred_at: at });
  }
}
