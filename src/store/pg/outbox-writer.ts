import type { Knex } from '@mikro-orm/postgresql';

/** One outbox entry as the Lua scripts write it: `t` its type, `d` its JSON payload. */
export interface OutboxEntry {
  stream: string;
  id: string;
  type: string;
  data: OutboxData;
}

/** Payload fields (short names keep the stream small). See the Lua scripts' XADD calls. */
export interface OutboxData {
  /** learner id */
  l: string;
  /** learner version after the change */
  v: number;
  /** learner snapshot after the change */
  s: { xp: number; lc: number; xat?: number };
  /** course id */
  c?: string;
  /** enrollment id and enrolledAt */
  ei?: string;
  eat?: number;
  /** course XP after the change, and when it was reached */
  cx?: number;
  cxat?: number;
  /** lesson id */
  ls?: string;
  /** badge id */
  b?: string;
  /** when it happened (ms) */
  at?: number;
  /** XP paid and the ledger row id */
  x?: number;
  tx?: string;
}

/** Decode XREADGROUP / XAUTOCLAIM entries (`[id, [field, value, ...]]`). */
export function parseEntries(stream: string, raw: [string, string[]][]): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  for (const [id, fields] of raw) {
    // XAUTOCLAIM may return entries that were deleted meanwhile as null field lists.
    if (!fields) continue;
    let type = '';
    let payload = '';
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 't') type = fields[i + 1]!;
      else if (fields[i] === 'd') payload = fields[i + 1]!;
    }
    out.push({ stream, id, type, data: JSON.parse(payload) as OutboxData });
  }
  return out;
}

/** Rows a batch touched, by table. */
export interface BatchCounts {
  entries: number;
  learners: number;
  enrollments: number;
  lessonProgress: number;
  xpTransactions: number;
  badgeAwards: number;
}

const date = (ms: number | undefined | null): Date | null => (ms == null ? null : new Date(ms));

/** Postgres caps one statement at 65535 parameters; stay well below. */
const ROWS_PER_STATEMENT = 2000;

async function insertChunked(
  trx: Knex.Transaction,
  rows: Record<string, unknown>[],
  write: (chunk: Record<string, unknown>[]) => Knex.QueryBuilder,
): Promise<number> {
  let written = 0;
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const res = (await write(rows.slice(i, i + ROWS_PER_STATEMENT)).transacting(trx)) as unknown as { rowCount?: number };
    written += res?.rowCount ?? 0;
  }
  return written;
}

/**
 * Write a batch of outbox entries in one transaction. Idempotent: ledger rows, lesson
 * progress and badge awards are keyed (`ON CONFLICT DO NOTHING`), snapshots only move
 * forward (`WHERE version < excluded.version`), so a replayed or reordered batch changes nothing.
 * @returns rows actually inserted or updated, by table
 */
export async function writeBatch(knex: Knex, entries: readonly OutboxEntry[]): Promise<BatchCounts> {
  const learners = new Map<string, Record<string, unknown> & { version: number }>();
  const enrollments = new Map<string, Record<string, unknown> & { version: number }>();
  const progress = new Map<string, Record<string, unknown>>();
  const ledger = new Map<string, Record<string, unknown>>();
  const awards = new Map<string, Record<string, unknown>>();

  for (const { type, data: d } of entries) {
    const snap = { id: d.l, total_xp: d.s.xp, lessons_completed: d.s.lc, xp_reached_at: date(d.s.xat), version: d.v };
    const prev = learners.get(d.l);
    if (!prev || prev.version < d.v) learners.set(d.l, snap);

    if (d.c && d.ei && d.eat !== undefined) {
      const key = `${d.l}\u0000${d.c}`;
      const row = {
        id: d.ei,
        learner_id: d.l,
        course_id: d.c,
        enrolled_at: date(d.eat),
        xp_earned: d.cx ?? 0,
        xp_reached_at: date(d.cxat),
        version: d.v,
      };
      const before = enrollments.get(key);
      if (!before || before.version < d.v) enrollments.set(key, row);
    }

    if (type === 'lesson_completed' && d.ls) {
      progress.set(`${d.l}\u0000${d.ls}`, {
        learner_id: d.l,
        lesson_id: d.ls,
        course_id: d.c,
        completed_at: date(d.at),
        watch_time_seconds: 0,
        updated_at: date(d.at),
      });
      if (d.tx && d.x && d.x > 0) {
        ledger.set(d.tx, {
          id: d.tx,
          learner_id: d.l,
          amount: d.x,
          reason: 'lesson_completed',
          source_id: d.ls,
          course_id: d.c,
          occurred_at: date(d.at),
        });
      }
    } else if (type === 'badge_awarded' && d.b) {
      awards.set(`${d.l}\u0000${d.b}`, { learner_id: d.l, badge_id: d.b, awarded_at: date(d.at) });
      if (d.tx && d.x && d.x > 0) {
        ledger.set(d.tx, {
          id: d.tx,
          learner_id: d.l,
          amount: d.x,
          reason: 'badge_unlocked',
          source_id: d.b,
          course_id: null,
          occurred_at: date(d.at),
        });
      }
    }
  }

  const counts: BatchCounts = {
    entries: entries.length,
    learners: 0,
    enrollments: 0,
    lessonProgress: 0,
    xpTransactions: 0,
    badgeAwards: 0,
  };
  if (entries.length === 0) return counts;

  // Rows go in key order, so concurrent flushers lock rows in the same order and never deadlock.
  const sorted = <T>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

  await knex.transaction(async (trx) => {
    counts.learners = await insertChunked(trx, sorted(learners), (chunk) =>
      knex('learners')
        .insert(chunk)
        .onConflict('id')
        .merge({
          total_xp: knex.raw('excluded.total_xp'),
          lessons_completed: knex.raw('excluded.lessons_completed'),
          xp_reached_at: knex.raw('excluded.xp_reached_at'),
          version: knex.raw('excluded.version'),
          updated_at: knex.fn.now(),
        })
        .where('learners.version', '<', knex.raw('excluded.version')),
    );
    counts.enrollments = await insertChunked(trx, sorted(enrollments), (chunk) =>
      knex('enrollments')
        .insert(chunk)
        .onConflict(['learner_id', 'course_id'])
        .merge({
          xp_earned: knex.raw('excluded.xp_earned'),
          xp_reached_at: knex.raw('excluded.xp_reached_at'),
          version: knex.raw('excluded.version'),
        })
        .where('enrollments.version', '<', knex.raw('excluded.version')),
    );
    counts.lessonProgress = await insertChunked(trx, sorted(progress), (chunk) =>
      knex('lesson_progress').insert(chunk).onConflict(['learner_id', 'lesson_id']).ignore(),
    );
    counts.xpTransactions = await insertChunked(trx, sorted(ledger), (chunk) =>
      knex('xp_transactions').insert(chunk).onConflict().ignore(),
    );
    counts.badgeAwards = await insertChunked(trx, sorted(awards), (chunk) =>
      knex('badge_awards').insert(chunk).onConflict(['learner_id', 'badge_id']).ignore(),
    );
  });
  return counts;
}
