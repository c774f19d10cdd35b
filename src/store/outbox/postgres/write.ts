import type { Knex } from '@mikro-orm/postgresql';
import type { OutboxEntry, OutboxKind, EntryOf } from '../entry';
import { enrolled } from './enrolled';
import { lessonCompleted } from './lessonCompleted';
import { RowSet } from './rows';

/** What each entry kind writes besides the common rows (RowSet.common). One handler per kind. */
const handlers: { [K in OutboxKind]: (entry: EntryOf<K>, rows: RowSet) => void } = {
  enrolled,
  lesson_completed: lessonCompleted,
};

/** Rows written or changed, by table. */
export interface WriteCounts {
  learners: number;
  enrollments: number;
  lessonProgress: number;
  xpTransactions: number;
  badgeAwards: number;
  events: number;
}

/** Turn entries into rows, newest snapshot per key. Pure. */
export function rowsOf(entries: readonly OutboxEntry[]): RowSet {
  const rows = new RowSet();
  for (const entry of entries) {
    rows.common(entry);
    (handlers[entry.data.k] as (e: typeof entry.data, r: RowSet) => void)(entry.data, rows);
  }
  return rows;
}

/** Rows in key order, so concurrent writers lock rows in the same order and never deadlock. */
function sorted<T>(m: Map<string, T>): T[] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

const column = <T, K extends keyof T>(rows: readonly T[], key: K): T[K][] => rows.map((r) => r[key]);

/** Run one statement whose parameters are whole columns (node-postgres sends JS arrays as Postgres arrays). */
async function run(trx: Knex.Transaction, sql: string, columns: unknown[][]): Promise<number> {
  const res = (await trx.raw(sql, columns as unknown as readonly Knex.RawBinding[])) as { rowCount: number | null };
  return res.rowCount ?? 0;
}

/**
 * Write a batch of outbox entries in one transaction. Idempotent: ledger rows, progress,
 * awards and events are keyed (`ON CONFLICT DO NOTHING`; the ledger is also unique on what it
 * pays for), snapshots only move forward (`WHERE version < excluded.version`), so a replayed or
 * reordered batch changes nothing. One statement per table, one array parameter per column.
 * @returns rows actually inserted or updated, by table
 */
export async function writeEntries(knex: Knex, entries: readonly OutboxEntry[], statementTimeoutMs: number): Promise<WriteCounts> {
  const rows = rowsOf(entries);
  const counts: WriteCounts = { learners: 0, enrollments: 0, lessonProgress: 0, xpTransactions: 0, badgeAwards: 0, events: 0 };
  if (entries.length === 0) return counts;
  await knex.transaction(async (trx) => {
    await trx.raw(`set local statement_timeout = ${Math.max(1, Math.trunc(statementTimeoutMs))}`);
    const learners = sorted(rows.learners);
    if (learners.length) {
      counts.learners = await run(
          trx,
          `insert into learners (id, total_xp, lessons_completed, xp_reached_at, version)
           select * from unnest(?::text[], ?::bigint[], ?::int[], ?::timestamptz[], ?::int[])
           on conflict (id) do update set total_xp = excluded.total_xp, lessons_completed = excluded.lessons_completed,
             xp_reached_at = excluded.xp_reached_at, version = excluded.version, updated_at = now()
           where learners.version < excluded.version`,
          [column(learners, 'id'), column(learners, 'total_xp'), column(learners, 'lessons_completed'), column(learners, 'xp_reached_at'), column(learners, 'version')],
        );
    }
    const enrollments = sorted(rows.enrollments);
    if (enrollments.length) {
      counts.enrollments = await run(
          trx,
          `insert into enrollments (id, learner_id, course_id, enrolled_at, completed_at, xp_earned, xp_reached_at, version)
           select * from unnest(?::uuid[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::bigint[], ?::timestamptz[], ?::int[])
           on conflict (learner_id, course_id) do update set completed_at = excluded.completed_at, xp_earned = excluded.xp_earned,
             xp_reached_at = excluded.xp_reached_at, version = excluded.version
           where enrollments.version < excluded.version`,
          [
            column(enrollments, 'id'),
            column(enrollments, 'learner_id'),
            column(enrollments, 'course_id'),
            column(enrollments, 'enrolled_at'),
            column(enrollments, 'completed_at'),
            column(enrollments, 'xp_earned'),
            column(enrollments, 'xp_reached_at'),
            column(enrollments, 'version'),
          ],
        );
    }
    const progress = sorted(rows.progress);
    if (progress.length) {
      counts.lessonProgress = await run(
          trx,
          `insert into lesson_progress (learner_id, lesson_id, course_id, completed_at, updated_at)
           select * from unnest(?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[])
           on conflict (learner_id, lesson_id) do nothing`,
          [column(progress, 'learner_id'), column(progress, 'lesson_id'), column(progress, 'course_id'), column(progress, 'completed_at'), column(progress, 'updated_at')],
        );
    }
    const ledger = sorted(rows.ledger);
    if (ledger.length) {
      counts.xpTransactions = await run(
          trx,
          `insert into xp_transactions (id, learner_id, amount, reason, source_id, course_id, occurred_at)
           select * from unnest(?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::timestamptz[])
           on conflict do nothing`,
          [
            column(ledger, 'id'),
            column(ledger, 'learner_id'),
            column(ledger, 'amount'),
            column(ledger, 'reason'),
            column(ledger, 'source_id'),
            column(ledger, 'course_id'),
            column(ledger, 'occurred_at'),
          ],
        );
    }
    const awards = sorted(rows.awards);
    if (awards.length) {
      counts.badgeAwards = await run(
          trx,
          `insert into badge_awards (learner_id, badge_id, awarded_at)
           select * from unnest(?::text[], ?::text[], ?::timestamptz[])
           on conflict (learner_id, badge_id) do nothing`,
          [column(awards, 'learner_id'), column(awards, 'badge_id'), column(awards, 'awarded_at')],
        );
    }
    const events = sorted(rows.events);
    if (events.length) {
      counts.events = await run(
          trx,
          `insert into learner_events (key, learner_id, client_id, kind, occurred_at, recorded_at, payload)
           select * from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::jsonb[])
           on conflict do nothing`,
          [
            column(events, 'key'),
            column(events, 'learner_id'),
            column(events, 'client_id'),
            column(events, 'kind'),
            column(events, 'occurred_at'),
            column(events, 'recorded_at'),
            column(events, 'payload'),
          ],
        );
    }
  });
  return counts;
}
