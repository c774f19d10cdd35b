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

/** How much longer than its statement timeout the writer waits on a Postgres that says nothing. */
const WRITER_GRACE_MS = 5000;

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

/**
 * Run one statement whose rows arrive as one JSON array (`$1`), read back with
 * jsonb_to_recordset: one native JSON.stringify per table, where array parameters would be
 * escaped element by element in JavaScript.
 */
async function run(trx: Knex.Transaction, sql: string, rows: readonly object[], clientTimeoutMs: number): Promise<number> {
  if (rows.length === 0) return 0;
  const res = (await trx.raw(sql, [JSON.stringify(rows)]).options({ query_timeout: clientTimeoutMs })) as { rowCount: number | null };
  return res.rowCount ?? 0;
}

const LEARNERS = `
  insert into learners (id, total_xp, lessons_completed, xp_reached_at, version)
  select id, total_xp, lessons_completed, xp_reached_at, version
  from jsonb_to_recordset(?::jsonb) as t(id text, total_xp bigint, lessons_completed int, xp_reached_at timestamptz, version int)
  on conflict (id) do update set total_xp = excluded.total_xp, lessons_completed = excluded.lessons_completed,
    xp_reached_at = excluded.xp_reached_at, version = excluded.version, updated_at = now()
  where learners.version < excluded.version`;

const ENROLLMENTS = `
  insert into enrollments (id, learner_id, course_id, enrolled_at, completed_at, xp_earned, xp_reached_at, version)
  select id, learner_id, course_id, enrolled_at, completed_at, xp_earned, xp_reached_at, version
  from jsonb_to_recordset(?::jsonb) as t(id uuid, learner_id text, course_id text, enrolled_at timestamptz,
    completed_at timestamptz, xp_earned bigint, xp_reached_at timestamptz, version int)
  on conflict (learner_id, course_id) do update set completed_at = excluded.completed_at, xp_earned = excluded.xp_earned,
    xp_reached_at = excluded.xp_reached_at, version = excluded.version
  where enrollments.version < excluded.version`;

const PROGRESS = `
  insert into lesson_progress (learner_id, lesson_id, course_id, completed_at, updated_at)
  select learner_id, lesson_id, course_id, completed_at, updated_at
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, lesson_id text, course_id text, completed_at timestamptz, updated_at timestamptz)
  on conflict (learner_id, lesson_id) do nothing`;

const LEDGER = `
  insert into xp_transactions (id, learner_id, amount, reason, source_id, course_id, occurred_at)
  select id, learner_id, amount, reason, source_id, course_id, occurred_at
  from jsonb_to_recordset(?::jsonb) as t(id text, learner_id text, amount bigint, reason text, source_id text, course_id text, occurred_at timestamptz)
  on conflict do nothing`;

const AWARDS = `
  insert into badge_awards (learner_id, badge_id, awarded_at)
  select learner_id, badge_id, awarded_at
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, badge_id text, awarded_at timestamptz)
  on conflict (learner_id, badge_id) do nothing`;

// A caller's id reused for another event after Redis forgot it: the event is still logged, without
// the id (which stays with its first event), rather than dropped.
const EVENTS = `
  insert into learner_events (key, learner_id, client_id, kind, occurred_at, recorded_at, payload)
  select t.key, t.learner_id,
    case when exists (select 1 from learner_events e where e.learner_id = t.learner_id and e.client_id = t.client_id and e.key <> t.key)
      then null else t.client_id end,
    t.kind, t.occurred_at, t.recorded_at, t.payload::jsonb
  from jsonb_to_recordset(?::jsonb) as t(key uuid, learner_id text, client_id text, kind text, occurred_at timestamptz, recorded_at timestamptz, payload text)
  on conflict do nothing`;

/**
 * Write a batch of outbox entries in one transaction. Idempotent: ledger rows, progress,
 * awards and events are keyed (`ON CONFLICT DO NOTHING`; the ledger is also unique on what it
 * pays for), snapshots only move forward (`WHERE version < excluded.version`), so a replayed or
 * reordered batch changes nothing. One statement per table.
 * @returns rows actually inserted or updated, by table
 */
export async function writeEntries(knex: Knex, entries: readonly OutboxEntry[], statementTimeoutMs: number): Promise<WriteCounts> {
  const rows = rowsOf(entries);
  const counts: WriteCounts = { learners: 0, enrollments: 0, lessonProgress: 0, xpTransactions: 0, badgeAwards: 0, events: 0 };
  if (entries.length === 0) return counts;
  await knex.transaction(async (trx) => {
    const timeoutMs = Math.max(1, Math.trunc(statementTimeoutMs));
    await trx.raw(`set local statement_timeout = ${timeoutMs}`);
    // The pool's client-side timeout is the requests' (PG_QUERY_TIMEOUT_MS): these statements
    // may run as long as the server allows them. The client waits a good while longer before
    // it gives up on a server that says nothing: giving up early on a server that did answer
    // (its answer read late, behind a busy event loop) would pause the writer as if Postgres
    // were down, where the server's own timeout splits the batch and the rest flows.
    const clientMs = timeoutMs + WRITER_GRACE_MS;
    counts.learners = await run(trx, LEARNERS, sorted(rows.learners), clientMs);
    counts.enrollments = await run(trx, ENROLLMENTS, sorted(rows.enrollments), clientMs);
    counts.lessonProgress = await run(trx, PROGRESS, sorted(rows.progress), clientMs);
    counts.xpTransactions = await run(trx, LEDGER, sorted(rows.ledger), clientMs);
    counts.badgeAwards = await run(trx, AWARDS, sorted(rows.awards), clientMs);
    counts.events = await run(trx, EVENTS, sorted(rows.events), clientMs);
  });
  return counts;
}
