import type { EntryOf } from '../entry';
import type { RowSet } from './rows';

/** ACCESSED: the enrollment's snapshot at the entry's version (nothing else changed; the activity row is written by activity.ts). */
export function accessed(entry: EntryOf<'accessed'>, rows: RowSet): void {
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
}
