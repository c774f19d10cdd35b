import type { EntryOf } from '../entry';
import type { RowSet } from './rows';

/** ENROLLED: the enrollment row. */
export function enrolled(entry: EntryOf<'enrolled'>, rows: RowSet): void {
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
}
