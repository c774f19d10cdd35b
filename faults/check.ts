/**
 * The invariants a fault must not break, checked after recovery against Postgres, the served
 * API and the client's own record of acknowledgements:
 *
 * - every acknowledged completion has exactly one ledger row (`xp_transactions`, reason
 *   `lesson_completed`, source the lesson; a quiz's first pass `quiz_passed`, source the quiz),
 *   and no (learner, reason, source) has two;
 * - every acknowledged quiz attempt (its own eventId) is exactly one `quiz_attempts` row: a
 *   retry never records an attempt twice, a crash never loses one; and each learner's watch
 *   time in Postgres is the sum of their acknowledged `recordWatchTime` calls;
 * - an enrollment is completed, with exactly one certificate, exactly when every lesson of
 *   the course is completed and every quiz passed (in Postgres's facts);
 * - no learner's acknowledged `totalXp` is above what the ledger holds for them (an
 *   acknowledged change was lost otherwise), and no lesson was acknowledged as paid under two
 *   different event ids;
 * - each learner's XP as served (`learner(id) { totalXp }`) equals their ledger sum, and so
 *   does their Postgres snapshot (`learners.total_xp`);
 * - the global board and the course board hold exactly the learners with XP, each with a score
 *   equal to their total (the course's ledger sum on the course board); so do the DAILY, WEEKLY
 *   and MONTHLY boards (global and course) of every period the ledger rows counted in, each score
 *   the sum of the rows that counted in that period;
 * - `npm run verify -- --json` (src/cli/verify.ts, once it exists) exits 0.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { isPeriodRetained, periodKeyOf, type PeriodKind } from '../src/domain/boards/periods';
import { Keys } from '../src/store/redis/keys';
import { gqlData, type Ack, type Outcome } from './load';
import { envOf, ROOT, type Deployment } from './server';
import { sleep, type TestRedis } from './stores';

export interface CheckInput {
  d: Deployment;
  redis: TestRedis;
  /** A live server's GraphQL URL, for the served reads. */
  url: string;
  /** Token of the served reads: the LMS's service token (anonymous lookups of learners Redis lost are rate-limited). */
  token: string | null;
  learners: string[];
  courseId: string;
  acks: Ack[];
  outcomes: Outcome[];
}

export interface CheckResult {
  acked: number;
  /** Acknowledgements that took more than one attempt (the same eventId sent again). */
  retried: number;
  ledgerRows: number;
  progressRows: number;
  /** Acknowledged completions without a ledger row. */
  lost: number;
  /** (learner, reason, source) with more than one ledger row. */
  duplicateRows: number;
  /** Lessons (or quizzes) acknowledged with XP under two different event ids. */
  paidTwiceAcks: number;
  /** Quiz attempt rows in Postgres, and learners whose rows differ from their acknowledged attempts. */
  attemptRows: number;
  attemptDrift: number;
  /** Learners whose watch time in Postgres differs from their acknowledged watch seconds. */
  watchDrift: number;
  /** Certificates issued, and enrollments whose completion or certificates disagree with their facts. */
  certificates: number;
  certificateDrift: number;
  /** Learners whose acknowledged totalXp is above their ledger sum. */
  ackAboveLedger: number;
  /** Learners whose served totalXp differs from their ledger sum, and the XP between them. */
  servedDrift: number;
  servedDriftXp: number;
  /** Learners whose Postgres snapshot (learners.total_xp) differs from their ledger sum. */
  snapshotDrift: number;
  /** Board entries missing, extra or with a score other than the total (global and course board). */
  boardDrift: number;
  /** Operations refused with a code, by code; and operations never answered. */
  refused: Record<string, number>;
  gaveUp: number;
  /** `npm run verify -- --json`: absent (not built yet), ok, drift (exit 1) or error. */
  verify: 'absent' | 'ok' | 'drift' | 'error';
  verifyOutput?: string;
  /** Examples of what is wrong, for the failure message. */
  samples: string[];
}

/** Total drift: everything that must be 0. */
export function driftOf(r: CheckResult): number {
  return r.lost + r.duplicateRows + r.paidTwiceAcks + r.attemptDrift + r.watchDrift + r.certificateDrift + r.ackAboveLedger + r.servedDrift + r.snapshotDrift + r.boardDrift + (r.verify === 'drift' || r.verify === 'error' ? 1 : 0);
}

/** The outbox backlog (unread + unacknowledged) of every consumer group, over all partitions. */
export async function outboxBacklog(redis: TestRedis, d: Deployment): Promise<number> {
  const keys = new Keys(d.keyPrefix, d.partitions);
  const c = redis.client({ connectTimeout: 2000, commandTimeout: 5000 });
  try {
    await c.connect();
    const pipe = c.pipeline();
    for (const p of keys.allPartitions()) pipe.call('XINFO', 'GROUPS', keys.outbox(p));
    let backlog = 0;
    for (const [err, groups] of (await pipe.exec())!) {
      if (err) continue; // No stream yet.
      for (const g of groups as unknown[][]) {
        const f = new Map<string, unknown>();
        for (let i = 0; i < g.length; i += 2) f.set(String(g[i]), g[i + 1]);
        backlog += Number(f.get('pending') ?? 0) + Number(f.get('lag') ?? 0);
      }
    }
    return backlog;
  } finally {
    c.disconnect();
  }
}

/** Wait until every consumer group has written and acknowledged everything. @returns ms waited */
export async function drained(redis: TestRedis, d: Deployment, timeoutMs = 90_000): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const backlog = await outboxBacklog(redis, d).catch(() => -1);
    if (backlog === 0) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`outbox not drained after ${timeoutMs} ms (backlog ${backlog})`);
    await sleep(100);
  }
}

/** Run `npm run verify -- --json` when src/cli/verify.ts exists. */
export async function runVerify(d: Deployment): Promise<{ verify: CheckResult['verify']; output?: string }> {
  if (!existsSync(join(ROOT, 'src/cli/verify.ts'))) return { verify: 'absent' };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/verify.ts', '--json'], { cwd: ROOT, env: envOf(d), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const output = out.slice(-4000);
      resolve({ verify: code === 0 ? 'ok' : code === 1 ? 'drift' : 'error', output });
    });
  });
}

async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** `learner(id) { totalXp }` for each learner, 25 aliases a request. */
async function servedTotals(url: string, token: string | null, learners: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < learners.length; i += 25) {
    const chunk = learners.slice(i, i + 25);
    const vars = Object.fromEntries(chunk.map((id, k) => [`i${k}`, id]));
    const query = `query(${chunk.map((_, k) => `$i${k}: ID!`).join(', ')}) { ${chunk.map((_, k) => `a${k}: learner(id: $i${k}) { totalXp }`).join(' ')} }`;
    const data = await gqlData<Record<string, { totalXp: number } | null>>(url, token, query, vars, 20_000);
    chunk.forEach((id, k) => out.set(id, data[`a${k}`]?.totalXp ?? 0));
  }
  return out;
}

/** Every entry of a board (ALL_TIME, or a period's), page by page. */
async function boardScores(url: string, courseId: string | null, period?: { period: PeriodKind; periodKey: string }): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const query = `query($board: BoardInput, $offset: Int) { leaderboard(board: $board, first: 100, offset: $offset) { totalCount entries { score learner { id } } } }`;
  const board = courseId || period ? { ...(courseId ? { courseId } : {}), ...period } : null;
  for (let offset = 0; ; offset += 100) {
    const data = await gqlData<{ leaderboard: { totalCount: number; entries: { score: number; learner: { id: string } }[] } }>(url, null, query, { board, offset }, 20_000);
    for (const e of data.leaderboard.entries) out.set(e.learner.id, e.score);
    if (data.leaderboard.entries.length < 100 || offset + 100 >= data.leaderboard.totalCount) return out;
  }
}

/**
 * Check every invariant after recovery (waits for the outbox to drain first).
 * @throws only when a store or the server does not answer
 */
export async function check(input: CheckInput): Promise<CheckResult> {
  const { d, learners, acks } = input;
  await drained(input.redis, d);
  const samples: string[] = [];
  const note = (s: string) => samples.length < 8 && samples.push(s);

  const pgState = await withPg(d.databaseUrl, async (c) => {
    const ledger = (await c.query<{ learner_id: string; reason: string; source_id: string | null; amount: string; course_id: string | null; at: number; periods: number }>(
      `select learner_id, reason, source_id, amount, course_id, (extract(epoch from occurred_at) * 1000)::float8 as at, periods
         from xp_transactions where learner_id = any($1)`,
      [learners],
    )).rows;
    const dups = (await c.query<{ n: string }>(`select count(*) as n from (select 1 from xp_transactions group by learner_id, reason, source_id having count(*) > 1) t`)).rows[0]!;
    const progress = (await c.query<{ n: string }>(`select count(*) as n from lesson_progress where learner_id = any($1) and completed_at is not null`, [learners])).rows[0]!;
    const snapshots = (await c.query<{ id: string; total_xp: string }>(`select id, total_xp from learners where id = any($1)`, [learners])).rows;
    const attempts = (await c.query<{ learner_id: string; n: string }>(`select learner_id, count(*) as n from quiz_attempts where learner_id = any($1) group by learner_id`, [learners])).rows;
    const watched = (await c.query<{ learner_id: string; s: string }>(`select learner_id, sum(watch_time_seconds) as s from lesson_progress where learner_id = any($1) group by learner_id`, [learners])).rows;
    const completions = (
      await c.query<{ learner_id: string; completed: boolean; certs: string; finished: boolean }>(
        `select e.learner_id, e.completed_at is not null as completed,
           (select count(*) from certificates c where c.learner_id = e.learner_id and c.course_id = e.course_id) as certs,
           (not exists (select 1 from lessons l where l.course_id = e.course_id and not exists (
              select 1 from lesson_progress p where p.learner_id = e.learner_id and p.lesson_id = l.id and p.completed_at is not null))
            and not exists (select 1 from quizzes q where q.course_id = e.course_id and not exists (
              select 1 from quiz_attempts a where a.learner_id = e.learner_id and a.quiz_id = q.id and a.passed))) as finished
         from enrollments e where e.learner_id = any($1) and e.course_id = $2`,
        [learners, input.courseId],
      )
    ).rows;
    return { ledger, duplicateRows: Number(dups.n), progressRows: Number(progress.n), snapshots, attempts, watched, completions };
  });

  const ledgerSum = new Map<string, number>();
  const courseSum = new Map<string, number>();
  const paid = new Set<string>();
  for (const row of pgState.ledger) {
    ledgerSum.set(row.learner_id, (ledgerSum.get(row.learner_id) ?? 0) + Number(row.amount));
    if (row.course_id === input.courseId) courseSum.set(row.learner_id, (courseSum.get(row.learner_id) ?? 0) + Number(row.amount));
    paid.add(`${row.learner_id}\u0000${row.reason}\u0000${row.source_id}`);
  }

  // Acknowledgements against the ledger.
  let lost = 0;
  let paidTwiceAcks = 0;
  const ackedUnder = new Map<string, string>();
  const ackTotal = new Map<string, number>();
  const ackedAttempts = new Map<string, Set<string>>();
  const ackedWatch = new Map<string, Map<string, number>>();
  for (const a of acks) {
    if (a.op.watch) {
      const m = ackedWatch.get(a.op.learner) ?? new Map<string, number>();
      ackedWatch.set(a.op.learner, m.set(a.op.eventId, a.op.watch.seconds));
      continue;
    }
    if (a.op.quiz) {
      const set = ackedAttempts.get(a.op.learner) ?? new Set<string>();
      ackedAttempts.set(a.op.learner, set.add(a.op.eventId));
    }
    const key = `${a.op.learner}\u0000${a.op.quiz ? 'quiz_passed' : 'lesson_completed'}\u0000${a.op.lesson}`;
    ackTotal.set(a.op.learner, Math.max(ackTotal.get(a.op.learner) ?? 0, a.totalXp));
    if (a.xpAwarded <= 0) continue;
    if (!paid.has(key)) {
      lost++;
      note(`lost: ${a.op.learner} ${a.op.lesson} (event ${a.op.eventId}) acknowledged +${a.xpAwarded}, no ledger row`);
    }
    const first = ackedUnder.get(key);
    if (first !== undefined && first !== a.op.eventId) {
      paidTwiceAcks++;
      note(`paid twice: ${a.op.learner} ${a.op.lesson} acknowledged with XP under ${first} and ${a.op.eventId}`);
    } else ackedUnder.set(key, a.op.eventId);
  }
  // Quiz attempts: one row per acknowledged attempt.
  const attemptRows = new Map(pgState.attempts.map((r) => [r.learner_id, Number(r.n)]));
  let attemptDrift = 0;
  for (const learner of learners) {
    const rows = attemptRows.get(learner) ?? 0;
    const acked = ackedAttempts.get(learner)?.size ?? 0;
    if (rows !== acked) {
      attemptDrift++;
      note(`quiz attempts: ${learner} ${acked} acknowledged, ${rows} rows`);
    }
  }
  const watchedRows = new Map(pgState.watched.map((r) => [r.learner_id, Number(r.s ?? 0)]));
  let watchDrift = 0;
  for (const learner of learners) {
    const stored = watchedRows.get(learner) ?? 0;
    const acked = [...(ackedWatch.get(learner)?.values() ?? [])].reduce((a, b) => a + b, 0);
    if (stored !== acked) {
      watchDrift++;
      note(`watch time: ${learner} ${acked} s acknowledged, ${stored} s in Postgres`);
    }
  }
  let certificates = 0;
  let certificateDrift = 0;
  for (const e of pgState.completions) {
    certificates += Number(e.certs);
    if (e.completed !== e.finished || Number(e.certs) !== (e.finished ? 1 : 0)) {
      certificateDrift++;
      note(`completion: ${e.learner_id} finished ${e.finished}, completed ${e.completed}, ${e.certs} certificates`);
    }
  }
  let ackAboveLedger = 0;
  for (const [learner, total] of ackTotal) {
    if (total > (ledgerSum.get(learner) ?? 0)) {
      ackAboveLedger++;
      note(`acknowledged total above ledger: ${learner} acknowledged ${total}, ledger ${ledgerSum.get(learner) ?? 0}`);
    }
  }

  // Served XP and Postgres snapshots against the ledger.
  const served = await servedTotals(input.url, input.token, learners);
  let servedDrift = 0;
  let servedDriftXp = 0;
  for (const learner of learners) {
    const diff = (served.get(learner) ?? 0) - (ledgerSum.get(learner) ?? 0);
    if (diff !== 0) {
      servedDrift++;
      servedDriftXp += Math.abs(diff);
      note(`served: ${learner} totalXp ${served.get(learner)}, ledger ${ledgerSum.get(learner) ?? 0}`);
    }
  }
  const snapshot = new Map(pgState.snapshots.map((s) => [s.id, Number(s.total_xp)]));
  let snapshotDrift = 0;
  for (const learner of learners) {
    if ((snapshot.get(learner) ?? 0) !== (ledgerSum.get(learner) ?? 0)) {
      snapshotDrift++;
      note(`snapshot: ${learner} learners.total_xp ${snapshot.get(learner) ?? 'none'}, ledger ${ledgerSum.get(learner) ?? 0}`);
    }
  }

  // Boards against totals; period boards against the ledger rows that counted in each period.
  let boardDrift = 0;
  const learnerSet = new Set(learners);
  const boards: [string, Map<string, number>, Map<string, number>][] = [
    ['global', ledgerSum, await boardScores(input.url, null)],
    ['course', courseSum, await boardScores(input.url, input.courseId)],
  ];
  const periodSums = new Map<string, { period: PeriodKind; periodKey: string; courseId: string | null; sums: Map<string, number> }>();
  for (const row of pgState.ledger) {
    for (const [period, flag] of [['DAILY', 1], ['WEEKLY', 2], ['MONTHLY', 4]] as const) {
      if ((row.periods & flag) === 0) continue;
      const periodKey = periodKeyOf(period, Number(row.at));
      if (!isPeriodRetained(periodKey, Date.now())) continue;
      for (const courseId of [null, ...(row.course_id === input.courseId && row.reason !== 'badge_unlocked' ? [input.courseId] : [])]) {
        const id = `${periodKey}|${courseId ?? ''}`;
        let p = periodSums.get(id);
        if (!p) periodSums.set(id, (p = { period, periodKey, courseId, sums: new Map() }));
        p.sums.set(row.learner_id, (p.sums.get(row.learner_id) ?? 0) + Number(row.amount));
      }
    }
  }
  for (const p of periodSums.values()) {
    boards.push([`${p.period} ${p.periodKey}${p.courseId ? ' course' : ''}`, p.sums, await boardScores(input.url, p.courseId, { period: p.period, periodKey: p.periodKey })]);
  }
  for (const [name, expected, board] of boards) {
    for (const [learner, total] of expected) {
      if (total > 0 && board.get(learner) !== total) {
        boardDrift++;
        note(`${name} board: ${learner} score ${board.get(learner) ?? 'missing'}, total ${total}`);
      }
    }
    for (const [learner, score] of board) {
      if (learnerSet.has(learner) && !(expected.get(learner)! > 0)) {
        boardDrift++;
        note(`${name} board: ${learner} listed with ${score}, has no XP`);
      }
    }
  }

  const refused: Record<string, number> = {};
  let gaveUp = 0;
  for (const o of input.outcomes) {
    if (o.kind === 'refused') refused[o.code] = (refused[o.code] ?? 0) + 1;
    if (o.kind === 'gave-up') gaveUp++;
  }
  const v = await runVerify(d);
  if (v.verify === 'drift' || v.verify === 'error') note(`verify ${v.verify}: ${v.output?.slice(0, 300)}`);

  return {
    acked: acks.length,
    retried: acks.filter((a) => a.attempts > 1).length,
    ledgerRows: pgState.ledger.length,
    progressRows: pgState.progressRows,
    lost,
    duplicateRows: pgState.duplicateRows,
    paidTwiceAcks,
    attemptRows: [...attemptRows.values()].reduce((a, b) => a + b, 0),
    attemptDrift,
    watchDrift,
    certificates,
    certificateDrift,
    ackAboveLedger,
    servedDrift,
    servedDriftXp,
    snapshotDrift,
    boardDrift,
    refused,
    gaveUp,
    verify: v.verify,
    ...(v.output ? { verifyOutput: v.output } : {}),
    samples,
  };
}
