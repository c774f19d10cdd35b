/**
 * What every drill does around its fault: start its own Redis and Postgres, the real server,
 * a course; after the fault, check and report one line of figures.
 */
import { appendFileSync } from 'node:fs';
import { expect } from 'vitest';
import { check, driftOf, type CheckResult } from './check';
import { completionOps, gqlData, Load, type FaultTiming, type Op } from './load';
import { drillCourse, drillTokens, ServerProcess, type Deployment } from './server';
import { TestPostgres, TestRedis, type RedisOptions } from './stores';

export interface Drill {
  redis: TestRedis;
  pg: TestPostgres;
  d: Deployment;
  server: ServerProcess;
  tokens: { service: string; admin: string };
  courseId: string;
  lessonIds: string[];
  /** XP per lesson. */
  xp: number;
}

/** Stores, a started server (`serverEnv` on top of the drill defaults) and a course of `lessons` lessons. */
export async function startDrill(o: { redis?: RedisOptions; pgFsync?: boolean; serverEnv?: Record<string, string>; lessons?: number; partitions?: number } = {}): Promise<Drill> {
  const redis = await TestRedis.start(o.redis);
  const pg = await TestPostgres.start({ fsync: o.pgFsync ?? false });
  const d: Deployment = { redisUrl: redis.url, databaseUrl: pg.url('lms'), keyPrefix: 'drill:', partitions: o.partitions ?? 16 };
  const server = await ServerProcess.create(d, { FLUSH_INTERVAL_MS: '50', ...o.serverEnv });
  await server.start();
  const tokens = await drillTokens();
  const courseId = 'drill';
  const xp = 10;
  const { input, lessonIds } = drillCourse(courseId, o.lessons ?? 5, xp);
  await gqlData(server.url, tokens.admin, 'mutation($input: CourseInput!) { upsertCourse(input: $input) { id } }', { input });
  return { redis, pg, d, server, tokens, courseId, lessonIds, xp };
}

/** A load of completions for `learners` learners x `lessons` lessons against `urls`. */
export function loadFor(
  drill: Drill,
  o: { run: string; learners: number; lessons?: number; stride?: number; urls?: () => string[]; ratePerSec?: number; concurrency?: number; requestTimeoutMs?: number; quizzes?: boolean },
): { load: Load; ops: Op[]; learners: string[] } {
  const ops = completionOps({
    run: o.run,
    learners: o.learners,
    lessonIds: drill.lessonIds,
    ...(o.lessons ? { lessons: o.lessons } : {}),
    ...(o.stride ? { stride: o.stride } : {}),
    courseId: drill.courseId,
    ...(o.quizzes ? { quizId: `${drill.courseId}-q1` } : {}),
  });
  const load = new Load({
    urls: o.urls ?? (() => [drill.server.url]),
    token: drill.tokens.service,
    ops,
    ...(o.ratePerSec ? { ratePerSec: o.ratePerSec } : {}),
    ...(o.concurrency ? { concurrency: o.concurrency } : {}),
    ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}),
  });
  return { load, ops, learners: [...new Set(ops.map((op) => op.learner))] };
}

/** Check the drill after recovery, on a live server, with the acknowledgements of one or more loads. */
export function checkDrill(drill: Drill, load: Load | Load[], learners: string[], url = drill.server.url): Promise<CheckResult> {
  const loads = Array.isArray(load) ? load : [load];
  return check({ d: drill.d, redis: drill.redis, url, token: drill.tokens.service, learners, courseId: drill.courseId, acks: loads.flatMap((l) => l.acks), outcomes: loads.flatMap((l) => l.outcomes) });
}

/** The drill's own load over `ops` (a part of `loadFor`'s, or operations sent again). */
export function loadOf(drill: Drill, ops: Op[], o: { ratePerSec?: number; urls?: () => string[] } = {}): Load {
  return new Load({ urls: o.urls ?? (() => [drill.server.url]), token: drill.tokens.service, ops, ...(o.ratePerSec ? { ratePerSec: o.ratePerSec } : {}) });
}

/**
 * Fail fast (issue 6 item 3): a frozen store makes requests fail with UNAVAILABLE within the
 * configured timeouts instead of hanging until the client gives up.
 */
export function expectFailFast(timing: FaultTiming): void {
  expect(timing.errors.timeout ?? 0, 'requests hung until the client timeout').toBe(0);
}

/** Nothing lost, nothing paid twice, no drift anywhere, every operation answered. */
export function expectClean(r: CheckResult): void {
  expect(r.samples).toEqual([]);
  expect(driftOf(r)).toBe(0);
  expect(r.refused).toEqual({});
  expect(r.gaveUp).toBe(0);
  expect(['absent', 'ok']).toContain(r.verify);
}

export interface ReportRow {
  scenario: string;
  acked: number;
  ledgerRows: number;
  drift: number;
  timeToFailMs: number | null;
  /** Requests hung until the client gave up (its timeout) rather than failing. */
  hung: boolean;
  recoverMs: number | null;
  note: string;
}

const fmtMs = (ms: number | null): string => (ms === null ? '-' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

/** Print one scenario's figures (and keep them for the summary table the global teardown prints). */
export function report(scenario: string, r: CheckResult, timing: FaultTiming | null, extra: Record<string, unknown> = {}): ReportRow {
  const row: ReportRow = {
    scenario,
    acked: r.acked,
    ledgerRows: r.ledgerRows,
    drift: driftOf(r),
    timeToFailMs: timing?.timeToFailMs ?? null,
    hung: (timing?.errors.timeout ?? 0) > 0,
    recoverMs: timing?.recoverMs ?? null,
    note: Object.entries(extra)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v) : typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(' '),
  };
  const lines = [
    `[faults] ${scenario}`,
    `  acknowledged ${r.acked} (${r.retried} after a retry), ledger rows ${r.ledgerRows}, progress rows ${r.progressRows}, drift ${row.drift}` +
      ` (lost ${r.lost}, duplicate rows ${r.duplicateRows}, paid twice ${r.paidTwiceAcks}, quiz attempts ${r.attemptDrift} of ${r.attemptRows} rows, watch ${r.watchDrift}, certificates ${r.certificateDrift} of ${r.certificates}, ack above ledger ${r.ackAboveLedger},` +
      ` served ${r.servedDrift} learners/${r.servedDriftXp} XP, snapshot ${r.snapshotDrift}, board ${r.boardDrift}, verify ${r.verify})`,
    ...(timing
      ? [`  time to fail ${fmtMs(timing.timeToFailMs)}${row.hung ? ' (hung until the client timeout)' : ''} (${timing.failedAttempts} failed attempts ${JSON.stringify(timing.errors)}), longest gap without an ack ${fmtMs(timing.ackGapMs)}, recover ${fmtMs(timing.recoverMs)}`]
      : []),
    ...(Object.keys(r.refused).length || r.gaveUp ? [`  refused ${JSON.stringify(r.refused)}, gave up ${r.gaveUp}`] : []),
    ...(row.note ? [`  ${row.note}`] : []),
    ...r.samples.map((s) => `  ! ${s}`),
  ];
  console.log(lines.join('\n'));
  const file = process.env.FAULTS_REPORT_FILE;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
  return row;
}

export { fmtMs };
