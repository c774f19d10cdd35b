/**
 * Benchmark: the outbox flusher draining a backlog into Postgres.
 *
 * Builds the app in-process (`buildApp`) with FLUSHER=false so nothing drains while the backlog
 * fills, creates one course and LEARNERS learners (enrollments are flushed first, so they are
 * not part of the timed backlog), then puts BACKLOG `lesson_completed` entries in the outbox by
 * calling the Lua-backed store directly (`learnerStore.completeLesson`, lesson-major so batches
 * mix learners like live traffic does). Then it times the drain:
 *   - BENCH_FLUSH_MODE=settle (default): `app.flusher.settle()`, i.e. read/write/ack until empty;
 *   - BENCH_FLUSH_MODE=loop: `app.flusher.start()` (the background loop the server runs) and
 *     poll the outbox until nothing is undelivered or pending.
 * Reports entries/s and rows/s (`flusher.stats.rows`: rows inserted or updated in Postgres),
 * cross-checked against table counts, plus the fill rate, peak RSS and CPU shares.
 * Uses its own database (lms_bench_<id>) and key prefix (bench:<id>:), removed at the end.
 *
 * Run:  npx tsx bench/flusher.ts
 * Env:  BENCH_BACKLOG (100000)  BENCH_LEARNERS (1000)  BENCH_PARTITIONS (64)
 *       BENCH_FLUSH_BATCH (1000, FLUSH_BATCH)  BENCH_FILL_CONCURRENCY (256)  BENCH_FLUSH_MODE (settle|loop)
 *       BENCH_PG_URL, BENCH_REDIS_URL
 */
import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { buildApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import type { ConsumerStats } from '../src/store/outbox/consumer';
import {
  bigCourse,
  destroyBenchEnv,
  emitResult,
  envInt,
  log,
  newBenchEnv,
  outboxBacklog,
  pool,
  postgresCpuSeconds,
  redisCpuSeconds,
  round,
  runMain,
  tableCounts,
} from './lib';

const BACKLOG = envInt('BENCH_BACKLOG', 100_000);
const LEARNERS = envInt('BENCH_LEARNERS', 1000);
const PARTITIONS = envInt('BENCH_PARTITIONS', 64);
const BATCH = envInt('BENCH_FLUSH_BATCH', 1000);
const FILL_CONCURRENCY = envInt('BENCH_FILL_CONCURRENCY', 256);
const MODE = process.env.BENCH_FLUSH_MODE ?? 'settle';
const COURSE_ID = 'bench-flush';
const XP = 10;
const LESSONS_PER_MODULE = 100;
const MAX_LESSONS = 2000; // MAX_LESSONS_PER_COURSE

export interface FlusherResult {
  benchmark: 'flusher';
  config: { backlog: number; learners: number; lessons: number; partitions: number; batchSize: number; mode: string };
  fill: { entries: number; ms: number; entriesPerSecond: number };
  flush: {
    ms: number;
    entries: number;
    rows: number;
    batches: number;
    failures: number;
    entriesPerSecond: number;
    rowsPerSecond: number;
    rowsPerEntry: number;
    peakRssMb: number;
    peakHeapMb: number;
  };
  /** Busy share of one core during the flush; postgres sums every local postgres process. */
  cpuPercent: { benchProcess: number; redis: number; postgres: number | null };
  verification: { postgres: Record<string, number>; backlogAfter: number; ok: boolean; notes: string[] };
}

const env = newBenchEnv();
let app: App | null = null;

const diff = (a: ConsumerStats, b: ConsumerStats) => ({
  entries: a.entries - b.entries,
  batches: a.batches - b.batches,
  failures: a.failures - b.failures,
});

/** Rows the flush wrote: every table's growth, plus snapshot updates (learners and enrollments change in place). */
const rowsWritten = (before: Record<string, number>, after: Record<string, number>, entries: number) =>
  Object.keys(after).reduce((n, t) => n + ((after[t] ?? 0) - (before[t] ?? 0)), 0) + 2 * entries;

async function main(): Promise<void> {
  if (MODE !== 'settle' && MODE !== 'loop') throw new Error('BENCH_FLUSH_MODE must be settle or loop');
  const lessons = Math.ceil(BACKLOG / LEARNERS);
  if (lessons > MAX_LESSONS) throw new Error(`BENCH_BACKLOG / BENCH_LEARNERS needs ${lessons} lessons per learner; a course holds at most ${MAX_LESSONS}: raise BENCH_LEARNERS`);
  log(`flusher: db ${env.databaseUrl}, prefix ${env.keyPrefix}; backlog ${BACKLOG} = ${LEARNERS} learners x <= ${lessons} lessons`);

  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    REDIS_URL: env.redisUrl,
    DATABASE_URL: env.databaseUrl,
    KEY_PREFIX: env.keyPrefix,
    JWT_SECRET: env.jwtSecret,
    PARTITIONS: String(PARTITIONS),
    FLUSHER: 'false',
    FLUSH_BATCH: String(BATCH),
    DEMO_CATALOG: 'false',
    LOG_LEVEL: 'warn',
  });
  app = await buildApp(config);
  const { flusher } = app;
  const progress = app.services.progress;

  const { input, lessonIds } = bigCourse(COURSE_ID, Math.ceil(lessons / LESSONS_PER_MODULE), Math.min(lessons, LESSONS_PER_MODULE), XP);
  const course = await app.services.catalog.upsertCourse(input);
  const learnerIds = Array.from({ length: LEARNERS }, (_, i) => `flush-learner-${i}`);

  let t0 = performance.now();
  await pool(LEARNERS, 64, async (i) => {
    await progress.enroll(learnerIds[i]!, COURSE_ID);
  });
  await flusher.settle();
  log(`course of ${course.lessonCount} lessons; ${LEARNERS} learners enrolled and flushed in ${round(performance.now() - t0, 0)} ms`);
  const before = { ...flusher.stats };
  const baseline = await tableCounts(env.databaseUrl);
  if ((await outboxBacklog(app.redis, app.keys)) !== 0) throw new Error('outbox not empty before the fill');

  // Fill: BACKLOG completions, lesson-major (lesson 1 for every learner, then lesson 2, ...).
  t0 = performance.now();
  await pool(BACKLOG, FILL_CONCURRENCY, async (i) => {
    const learner = learnerIds[i % LEARNERS]!;
    const lessonId = lessonIds[Math.floor(i / LEARNERS)]!;
    await progress.completeLesson(learner, lessonId);
  });
  const fillMs = performance.now() - t0;
  const queued = await outboxBacklog(app.redis, app.keys);
  log(`filled ${queued} outbox entries in ${round(fillMs, 0)} ms (${round(BACKLOG / (fillMs / 1000), 0)}/s)`);
  if (queued !== BACKLOG) throw new Error(`expected ${BACKLOG} outbox entries, found ${queued}`);

  // Drain, sampling memory as it goes.
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  sample();
  const sampler = setInterval(sample, 50);
  const cpu0 = { self: process.cpuUsage(), redis: await redisCpuSeconds(app.redis as unknown as Redis), pg: postgresCpuSeconds() };
  log(`draining (${MODE})`);
  t0 = performance.now();
  if (MODE === 'settle') {
    await flusher.settle();
  } else {
    await flusher.start();
    while ((await outboxBacklog(app.redis, app.keys)) > 0) await new Promise((r) => setTimeout(r, 20));
  }
  const flushMs = performance.now() - t0;
  clearInterval(sampler);
  sample();
  const self = process.cpuUsage(cpu0.self);
  const pgAfter = postgresCpuSeconds();
  const wall = flushMs / 1000;
  const cpu = {
    benchProcess: round(((self.user + self.system) / 1e6 / wall) * 100),
    redis: round((((await redisCpuSeconds(app.redis as unknown as Redis)) - cpu0.redis) / wall) * 100),
    postgres: pgAfter === null || cpu0.pg === null ? null : round(((pgAfter - cpu0.pg) / wall) * 100),
  };
  const counted = diff(flusher.stats, before);

  // Cross-check against Postgres.
  const backlogAfter = await outboxBacklog(app.redis, app.keys);
  const counts = await tableCounts(env.databaseUrl);
  const stats = { ...counted, rows: rowsWritten(baseline, counts, counted.entries) };
  const notes: string[] = [];
  const expect = (what: string, actual: number, wanted: number) => {
    if (actual !== wanted) notes.push(`${what}: ${actual}, expected ${wanted}`);
  };
  expect('flusher entries', stats.entries, BACKLOG);
  expect('lesson_progress rows', (counts.lesson_progress ?? 0) - (baseline.lesson_progress ?? 0), BACKLOG);
  expect('xp_transactions rows', (counts.xp_transactions ?? 0) - (baseline.xp_transactions ?? 0), BACKLOG);
  expect('learners rows', counts.learners ?? 0, LEARNERS);
  expect('enrollments rows', counts.enrollments ?? 0, LEARNERS);
  expect('outbox backlog after', backlogAfter, 0);
  expect('flusher failures', stats.failures, 0);
  // Every entry inserts one lesson_progress and one xp_transactions row and updates its learner
  // and enrollment at least once, so rows >= 2 x entries + learners + enrollments.
  if (stats.rows < 2 * BACKLOG + 2 * LEARNERS) notes.push(`flusher rows ${stats.rows} below the minimum ${2 * BACKLOG + 2 * LEARNERS}`);
  const ok = notes.length === 0;

  const out: FlusherResult = {
    benchmark: 'flusher',
    config: { backlog: BACKLOG, learners: LEARNERS, lessons, partitions: PARTITIONS, batchSize: BATCH, mode: MODE },
    fill: { entries: BACKLOG, ms: round(fillMs, 0), entriesPerSecond: round(BACKLOG / (fillMs / 1000), 0) },
    flush: {
      ms: round(flushMs, 0),
      entries: stats.entries,
      rows: stats.rows,
      batches: stats.batches,
      failures: stats.failures,
      entriesPerSecond: round(stats.entries / wall, 0),
      rowsPerSecond: round(stats.rows / wall, 0),
      rowsPerEntry: round(stats.rows / Math.max(1, stats.entries), 2),
      peakRssMb: round(peakRss / 2 ** 20),
      peakHeapMb: round(peakHeap / 2 ** 20),
    },
    cpuPercent: cpu,
    verification: { postgres: counts, backlogAfter, ok, notes },
  };
  console.log(JSON.stringify(out, null, 2));
  console.log(
    `\nflusher (${MODE}, batch ${BATCH}, ${PARTITIONS} partitions): ${BACKLOG} entries in ${out.flush.ms} ms = ` +
      `${out.flush.entriesPerSecond} entries/s, ${out.flush.rowsPerSecond} rows/s (${out.flush.rowsPerEntry} rows/entry); ` +
      `fill ${out.fill.entriesPerSecond}/s; check ${ok ? 'OK' : 'FAILED'}`,
  );
  emitResult(out);
  if (!ok) throw new Error(`verification failed: ${notes.join('; ')}`);
}

runMain(main, async () => {
  const running = app;
  app = null;
  if (running) await running.stop();
  await destroyBenchEnv(env);
  log('cleaned up database and keys');
});
