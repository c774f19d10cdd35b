import { periodFlagsOf, type EntryOf } from '../entry';
import { completionRows } from './lessonCompleted';
import type { RowSet } from './rows';

/**
 * WATCHED: the lesson's watch total (as the script computed it, under the entry's (epoch,
 * version): never an increment, so a replay changes nothing), the enrollment's new totals, and
 * the completion rows when this watch completed the lesson.
 */
export function watched(entry: EntryOf<'watched'>, rows: RowSet): void {
  rows.lessonWatched(entry.l, entry.ls, entry.c, entry.w, entry.ep, entry.v, new Date(entry.wu));
  if (entry.cd) {
    completionRows(rows, { learnerId: entry.l, lessonId: entry.ls, courseId: entry.c, eventKey: entry.id, xp: entry.x, video: entry.vd, at: new Date(entry.oa), periods: periodFlagsOf(entry) });
  }
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
}
