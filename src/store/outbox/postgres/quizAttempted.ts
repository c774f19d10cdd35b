import { ledgerIdOf, periodFlagsOf, type EntryOf } from '../entry';
import type { RowSet } from './rows';

/**
 * QUIZ_ATTEMPTED: the attempt row, the enrollment's new totals, and on the first pass the quiz's
 * ledger row (unique on learner x quiz through the ledger's (learner, reason, source) index).
 */
export function quizAttempted(entry: EntryOf<'quiz_attempted'>, rows: RowSet): void {
  const at = new Date(entry.oa);
  rows.quizAttempt({
    learner_id: entry.l,
    quiz_id: entry.q,
    attempt: entry.n,
    course_id: entry.c,
    score: entry.sc,
    passed: entry.ps,
    attempted_at: at,
    event_key: entry.id,
  });
  rows.enrollment(entry.l, entry.c, entry.ep, entry.v, entry.ce);
  if (entry.x > 0) {
    rows.pay({ id: ledgerIdOf(entry.id), learner_id: entry.l, amount: entry.x, reason: 'quiz_passed', source_id: entry.q, course_id: entry.c, occurred_at: at, periods: periodFlagsOf(entry) });
  }
}
