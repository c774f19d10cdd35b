import type { Knex } from '@mikro-orm/postgresql';
import type { OutboxEntry, OutboxKind, EntryOf } from '../entry';
import { accessed } from './accessed';
import { writeActivities } from './activity';
import { enrolled } from './enrolled';
import { lessonCompleted } from './lessonCompleted';
import { quizAttempted } from './quizAttempted';
import { RowSet } from './rows';
import { watched } from './watched';

/** What each entry kind writes besides the common rows (RowSet.common). One handler per kind. */
const handlers: { [K in OutboxKind]: (entry: EntryOf<K>, rows: RowSet) => void } = {
  enrolled,
  lesson_completed: lessonCompleted,
  quiz_attempted: quizAttempted,
  watched,
  accessed,
  // Nothing besides the common rows (the learner's counters, the event log, the activity).
  logged_in: () => {},
  profile: (entry, rows) => rows.profile(entry.l, entry.ep, entry.v, entry.dn, entry.tzh),
  goal_set: (entry, rows) => rows.goalTargetsOf(entry.l, entry.ep, entry.v, entry.gt, entry.gtd),
};

/** How much longer than its statement timeout the writer waits on a Postgres that says nothing. */
const WRITER_GRACE_MS = 5000;

/** Rows written or changed, by table. */
export interface WriteCounts {
  learners: number;
  enrollments: number;
  lessonProgress: number;
  quizAttempts: number;
  xpTransactions: number;
  badgeAwards: number;
  certificates: number;
  events: number;
  /** Activity rows (activity.ts): one per new event. */
  activities: number;
}

/**
 * Why a batch shows that Redis is behind Postgres for a learner (Redis restored from an older
 * snapshot, a failover that lost writes):
 * - `already-paid`: a new event paid for something the ledger already holds under another event
 *   (the hash did not know the lesson was completed);
 * - `version-reused`: a new event carries an (epoch, version) another event already had (the
 *   hash went back and counted those versions again);
 * - `attempt-taken`: a new quiz attempt carries a number another attempt of the quiz already
 *   has (the hash counted attempts from a Postgres that had not received them all yet, e.g.
 *   its hash was deleted while entries were on their way). The attempt is still in the event
 *   log; its row is not written.
 * None happens while Redis is ahead of Postgres, whatever the order batches arrive in.
 */
export type BehindReason = 'already-paid' | 'version-reused' | 'attempt-taken';

/** What a batch wrote, and the learners it showed Redis to be behind for (repair them). */
export interface WriteResult extends WriteCounts {
  behind: Map<string, BehindReason>;
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

/** `run` for a statement ending in RETURNING: the rows it returned. */
async function returning<R = Record<string, string>>(trx: Knex.Transaction, sql: string, rows: readonly object[], clientTimeoutMs: number): Promise<R[]> {
  if (rows.length === 0) return [];
  const res = (await trx.raw(sql, [JSON.stringify(rows)]).options({ query_timeout: clientTimeoutMs })) as { rows?: R[]; rowCount: number | null };
  return res.rows ?? [];
}

// Snapshots only move forward, by (epoch, version): see lua/includes/epoch.lua.
const LEARNERS = `
  insert into learners (id, total_xp, lessons_completed, xp_reached_at, epoch, version)
  select id, total_xp, lessons_completed, xp_reached_at, epoch, version
  from jsonb_to_recordset(?::jsonb) as t(id text, total_xp bigint, lessons_completed int, xp_reached_at timestamptz, epoch bigint, version int)
  on conflict (id) do update set total_xp = excluded.total_xp, lessons_completed = excluded.lessons_completed,
    xp_reached_at = excluded.xp_reached_at, epoch = excluded.epoch, version = excluded.version, updated_at = now()
  where (learners.epoch, learners.version) < (excluded.epoch, excluded.version)
  returning id`;

// After LEARNERS (the row exists then); newer profile changes only.
const PROFILES = `
  update learners l set display_name = t.display_name, time_zone = t.time_zone, zone_history = t.zone_history,
    profile_epoch = t.epoch, profile_version = t.version
  from jsonb_to_recordset(?::jsonb) as t(id text, display_name text, time_zone text, zone_history text, epoch bigint, version int)
  where l.id = t.id and (l.profile_epoch, l.profile_version) < (t.epoch, t.version)`;

// After LEARNERS; newer goal settings only.
const GOAL_TARGETS = `
  update learners l set goal_targets = t.goal_targets, goal_targets_day = t.goal_targets_day, goals_epoch = t.epoch, goals_version = t.version
  from jsonb_to_recordset(?::jsonb) as t(id text, goal_targets text, goal_targets_day int, epoch bigint, version int)
  where l.id = t.id and (l.goals_epoch, l.goals_version) < (t.epoch, t.version)`;

// A learner's day toward goals: the newest snapshot wins.
const GOAL_DAYS = `
  insert into daily_goals (learner_id, day, xp, lessons, watch_seconds, quizzes, targets, done, epoch, version)
  select learner_id, day, xp, lessons, watch_seconds, quizzes, array(select jsonb_array_elements_text(targets)::int), done, epoch, version
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, day date, xp bigint, lessons int, watch_seconds bigint, quizzes int, targets jsonb, done smallint, epoch bigint, version int)
  on conflict (learner_id, day) do update set xp = excluded.xp, lessons = excluded.lessons, watch_seconds = excluded.watch_seconds,
    quizzes = excluded.quizzes, targets = excluded.targets, done = excluded.done, epoch = excluded.epoch, version = excluded.version
  where (daily_goals.epoch, daily_goals.version) < (excluded.epoch, excluded.version)`;

const ENROLLMENTS = `
  insert into enrollments (id, learner_id, course_id, enrolled_at, completed_at, xp_earned, xp_reached_at, quizzes_passed, watch_seconds, epoch, version)
  select id, learner_id, course_id, enrolled_at, completed_at, xp_earned, xp_reached_at, quizzes_passed, watch_seconds, epoch, version
  from jsonb_to_recordset(?::jsonb) as t(id uuid, learner_id text, course_id text, enrolled_at timestamptz,
    completed_at timestamptz, xp_earned bigint, xp_reached_at timestamptz, quizzes_passed int, watch_seconds bigint, epoch bigint, version int)
  on conflict (learner_id, course_id) do update set completed_at = excluded.completed_at, xp_earned = excluded.xp_earned,
    xp_reached_at = excluded.xp_reached_at, quizzes_passed = excluded.quizzes_passed, watch_seconds = excluded.watch_seconds,
    epoch = excluded.epoch, version = excluded.version
  where (enrollments.epoch, enrollments.version) < (excluded.epoch, excluded.version)`;

// One row per learner and lesson: the first completion stays; the watch total moves only
// forward, by its own (epoch, version); a row that only watched has no completion yet.
const PROGRESS = `
  insert into lesson_progress as p (learner_id, lesson_id, course_id, completed_at, video, watch_time_seconds, watch_epoch, watch_version, updated_at)
  select learner_id, lesson_id, course_id, completed_at, video, watch_time_seconds, watch_epoch, watch_version, updated_at
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, lesson_id text, course_id text, completed_at timestamptz, video boolean,
    watch_time_seconds bigint, watch_epoch bigint, watch_version int, updated_at timestamptz)
  on conflict (learner_id, lesson_id) do update set
    completed_at = coalesce(p.completed_at, excluded.completed_at),
    video = case when p.completed_at is null then excluded.video else p.video end,
    watch_time_seconds = case when (p.watch_epoch, p.watch_version) < (excluded.watch_epoch, excluded.watch_version)
      then excluded.watch_time_seconds else p.watch_time_seconds end,
    watch_epoch = greatest(p.watch_epoch, excluded.watch_epoch),
    watch_version = case when (p.watch_epoch, p.watch_version) < (excluded.watch_epoch, excluded.watch_version)
      then excluded.watch_version else p.watch_version end,
    updated_at = greatest(p.updated_at, excluded.updated_at)
  where (p.completed_at is null and excluded.completed_at is not null)
    or (p.watch_epoch, p.watch_version) < (excluded.watch_epoch, excluded.watch_version)`;

// Attempts are facts, numbered by the script: a replay finds its row there.
const QUIZ_ATTEMPTS = `
  insert into quiz_attempts (learner_id, quiz_id, attempt, course_id, score, passed, attempted_at, event_key)
  select learner_id, quiz_id, attempt, course_id, score, passed, attempted_at, event_key
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, quiz_id text, attempt int, course_id text, score int,
    passed boolean, attempted_at timestamptz, event_key uuid)
  on conflict (learner_id, quiz_id, attempt) do nothing
  returning event_key`;

const LEDGER = `
  insert into xp_transactions (id, learner_id, amount, reason, source_id, course_id, occurred_at, periods)
  select id, learner_id, amount, reason, source_id, course_id, occurred_at, periods
  from jsonb_to_recordset(?::jsonb) as t(id text, learner_id text, amount bigint, reason text, source_id text, course_id text, occurred_at timestamptz, periods smallint)
  on conflict do nothing
  returning id`;

const AWARDS = `
  insert into badge_awards (learner_id, badge_id, awarded_at)
  select learner_id, badge_id, awarded_at
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, badge_id text, awarded_at timestamptz)
  on conflict (learner_id, badge_id) do nothing`;

// One certificate per enrollment: the code is the key, (learner, course) unique.
const CERTIFICATES = `
  insert into certificates (code, learner_id, course_id, issued_at, event_key)
  select code, learner_id, course_id, issued_at, event_key
  from jsonb_to_recordset(?::jsonb) as t(code text, learner_id text, course_id text, issued_at timestamptz, event_key uuid)
  on conflict do nothing
  returning code`;

// A caller's id reused for another event after Redis forgot it: the event is still logged, without
// the id (which stays with its first event), rather than dropped.
const EVENTS = `
  insert into learner_events (key, learner_id, client_id, kind, occurred_at, recorded_at, payload)
  select t.key, t.learner_id,
    case when exists (select 1 from learner_events e where e.learner_id = t.learner_id and e.client_id = t.client_id and e.key <> t.key)
      then null else t.client_id end,
    t.kind, t.occurred_at, t.recorded_at, t.payload::jsonb
  from jsonb_to_recordset(?::jsonb) as t(key uuid, learner_id text, client_id text, kind text, occurred_at timestamptz, recorded_at timestamptz, payload text)
  on conflict do nothing
  returning key`;

// The newest stream id written, per partition (only forward).
const WATERMARKS = `
  insert into outbox_watermarks (partition, ms, seq)
  select partition, ms, seq from jsonb_to_recordset(?::jsonb) as t(partition int, ms bigint, seq bigint)
  on conflict (partition) do update set ms = excluded.ms, seq = excluded.seq, updated_at = now()
  where (outbox_watermarks.ms, outbox_watermarks.seq) < (excluded.ms, excluded.seq)`;

/** Each partition's newest stream id in a batch, as rows. */
function watermarksOf(entries: readonly OutboxEntry[]): { partition: number; ms: number; seq: number }[] {
  const newest = new Map<number, { ms: number; seq: number }>();
  for (const e of entries) {
    const [ms, seq] = e.id.split('-').map(Number) as [number, number];
    const prev = newest.get(e.partition);
    if (!prev || ms > prev.ms || (ms === prev.ms && seq > prev.seq)) newest.set(e.partition, { ms, seq });
  }
  return [...newest].sort(([a], [b]) => a - b).map(([partition, id]) => ({ partition, ...id }));
}

// Learners for whom another logged event already had a new event's (epoch, version).
const VERSION_REUSED = `
  select distinct t.learner_id
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, key uuid, epoch bigint, version int)
  join learner_events e on e.learner_id = t.learner_id and e.key <> t.key
    and (e.payload->>'v')::int = t.version and coalesce((e.payload->>'ep')::bigint, 0) = t.epoch`;

/**
 * Write a batch of outbox entries in one transaction. Idempotent: ledger rows, progress,
 * awards and events are keyed (`ON CONFLICT DO NOTHING`; the ledger is also unique on what it
 * pays for), snapshots only move forward (by epoch, then version), so a replayed or reordered
 * batch changes nothing. One statement per table.
 *
 * It also notices when Redis is behind Postgres (see BehindReason) and returns those learners:
 * their snapshot from this batch is not to be trusted, and their hash must be rebuilt from
 * Postgres (LearnerRepair). The ledger keeps what was paid once, whatever Redis said.
 * @returns rows actually inserted or updated, by table, and the learners Redis is behind for
 */
export async function writeEntries(knex: Knex, entries: readonly OutboxEntry[], statementTimeoutMs: number): Promise<WriteResult> {
  const rows = rowsOf(entries);
  const result: WriteResult = { learners: 0, enrollments: 0, lessonProgress: 0, quizAttempts: 0, xpTransactions: 0, badgeAwards: 0, certificates: 0, events: 0, activities: 0, behind: new Map() };
  if (entries.length === 0) return result;
  await knex.transaction(async (trx) => {
    const timeoutMs = Math.max(1, Math.trunc(statementTimeoutMs));
    await trx.raw(`set local statement_timeout = ${timeoutMs}`);
    // The pool's client-side timeout is the requests' (PG_QUERY_TIMEOUT_MS): these statements
    // may run as long as the server allows them. The client waits a good while longer before
    // it gives up on a server that says nothing: giving up early on a server that did answer
    // (its answer read late, behind a busy event loop) would pause the writer as if Postgres
    // were down, where the server's own timeout splits the batch and the rest flows.
    const clientMs = timeoutMs + WRITER_GRACE_MS;
    const moved = new Set((await returning<{ id: string }>(trx, LEARNERS, sorted(rows.learners), clientMs)).map((r) => r.id));
    result.learners = moved.size;
    await run(trx, PROFILES, sorted(rows.profiles), clientMs);
    await run(trx, GOAL_TARGETS, sorted(rows.goalTargets), clientMs);
    await run(trx, GOAL_DAYS, sorted(rows.goalDays), clientMs);
    result.enrollments = await run(trx, ENROLLMENTS, sorted(rows.enrollments), clientMs);
    result.lessonProgress = await run(trx, PROGRESS, sorted(rows.progress), clientMs);
    const attempted = new Set((await returning<{ event_key: string }>(trx, QUIZ_ATTEMPTS, sorted(rows.attempts), clientMs)).map((r) => r.event_key));
    result.quizAttempts = attempted.size;
    const paid = new Set((await returning<{ id: string }>(trx, LEDGER, sorted(rows.ledger), clientMs)).map((r) => r.id));
    result.xpTransactions = paid.size;
    result.badgeAwards = await run(trx, AWARDS, sorted(rows.awards), clientMs);
    const issued = new Set((await returning<{ code: string }>(trx, CERTIFICATES, sorted(rows.certificates), clientMs)).map((r) => r.code));
    result.certificates = issued.size;
    const logged = new Set((await returning<{ key: string }>(trx, EVENTS, sorted(rows.events), clientMs)).map((r) => r.key));
    result.events = logged.size;
    result.activities = await writeActivities(trx, entries, rows.ledger, paid, clientMs);
    await run(trx, WATERMARKS, watermarksOf(entries), clientMs);

    // A new event whose payment the ledger refused: it was paid already, under another event.
    for (const row of rows.ledger.values()) {
      if (!paid.has(row.id) && logged.has(eventKeyOfLedgerId(row.id))) result.behind.set(row.learner_id, 'already-paid');
    }
    // A new certificate refused: the enrollment has one already, issued by another event (the
    // hash did not know the course was completed).
    for (const row of rows.certificates.values()) {
      if (!issued.has(row.code) && logged.has(row.event_key) && !result.behind.has(row.learner_id)) result.behind.set(row.learner_id, 'already-paid');
    }
    // A new attempt whose row was not written: its number was taken by another attempt (in
    // Postgres, or earlier in this batch). A replayed attempt's event is not new.
    for (const e of entries) {
      if (e.data.k === 'quiz_attempted' && logged.has(e.data.id) && !attempted.has(e.data.id) && !result.behind.has(e.data.l)) {
        result.behind.set(e.data.l, 'attempt-taken');
      }
    }
    // A new event whose learner's snapshot did not move: reordered, or a version counted twice.
    const suspects = entries.filter((e) => logged.has(e.data.id) && !moved.has(e.data.l) && !result.behind.has(e.data.l));
    if (suspects.length) {
      const reused = await returning<{ learner_id: string }>(
        trx,
        VERSION_REUSED,
        suspects.map((e) => ({ learner_id: e.data.l, key: e.data.id, epoch: e.data.ep, version: e.data.v })),
        clientMs,
      );
      for (const r of reused) result.behind.set(r.learner_id, 'version-reused');
    }
  });
  return result;
}

/** The event key a ledger row id derives from (see ledgerIdOf). */
function eventKeyOfLedgerId(id: string): string {
  const colon = id.indexOf(':');
  return colon < 0 ? id : id.slice(0, colon);
}
