/**
 * Micro-benchmark: what badge evaluation costs a lesson completion, with BENCH_BADGES badges
 * (200) in the catalog against none.
 *
 * Builds two apps in this process (`buildApp`, each with its own database and key prefix), the
 * same course in both and BENCH_BADGES badges in one of them: mixed shapes (every leaf type,
 * all/any up to 3 deep), most reading what a completion changes (XP, lessons completed in all
 * and in the course, videos, courses, days, streak, goals), so they are the completion's badge
 * candidates and every completion's script judges them; thresholds are out of reach, so what is
 * timed is the judging, not awards. Then it completes fresh (learner, lesson) pairs one at a
 * time through the real path (`services.progress.completeLesson`: catalog lookups, candidates,
 * the Lua script with its ARGV, the reply), alternating the two apps in blocks for BENCH_ROUNDS
 * rounds after a warm-up, and reports per app the latency of each completion (p50, p90, p99,
 * mean), this process's CPU per completion, and the time spent in the Catalog's lookups on
 * that path (lesson, course, lessonCandidates, courseShape: cached per snapshot, timed in
 * place). Apart from that it times `candidatesFor` itself, cold (what the first completion of
 * a course pays after each catalog change).
 * The Postgres writer and the board projector are off: they run after the answer, and here
 * they would only add noise. Each app has a redis-server of its own (from PATH, free port, no
 * persistence), so INFO commandstats and INFO cpu count that app's scripts only: the script
 * time (EVALSHA µs per call, as Redis measures it) and Redis CPU per completion.
 *
 * Run:  npx tsx bench/badges.ts
 * Env:  BENCH_BADGES (200)  BENCH_EVENTS (1000 per app and round)  BENCH_ROUNDS (4)
 *       BENCH_WARMUP (300 per app)  BENCH_LEARNERS (60)  BENCH_PG_URL
 *       BENCH_PRIVATE_REDIS (1; 0: both apps on BENCH_REDIS_URL, where Redis figures are shared)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { buildApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { candidatesFor } from '../src/domain/badges/compile';
import type { BadgeCriteria } from '../src/domain/badges/criteria';
import { Catalog } from '../src/domain/catalog/types';
import { bigCourse, destroyBenchEnv, emitResult, envInt, freePort, log, newBenchEnv, redisCpuSeconds, round, runMain, sleep, type BenchEnv } from './lib';

const BADGES = envInt('BENCH_BADGES', 200);
const EVENTS = envInt('BENCH_EVENTS', 1000);
const ROUNDS = envInt('BENCH_ROUNDS', 4);
const WARMUP = envInt('BENCH_WARMUP', 300);
const LEARNERS = envInt('BENCH_LEARNERS', 60);
const PRIVATE_REDIS = (process.env.BENCH_PRIVATE_REDIS ?? '1') !== '0';
const COURSE_ID = 'bench-badges';
const OTHER_COURSE = 'bench-other';
const XP = 10;

export interface LatencyFigures {
  events: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  meanUs: number;
  /** This process's CPU (user + system) per completion. */
  cpuUsPerEvent: number;
  /** Time in the Catalog's lookups (lesson, course, lessonCandidates, courseShape) per completion. */
  catalogLookupUsPerEvent: number;
  /** Script time per completion as Redis measures it (EVALSHA), and Redis CPU; null on a shared Redis. */
  scriptUsPerEvent: number | null;
  redisCpuUsPerEvent: number | null;
}

export interface BadgesResult {
  benchmark: 'badges';
  config: { badges: number; eventsPerRound: number; rounds: number; warmup: number; learners: number };
  /** Of the badges, those a completion of the course judges; the size of what each completion sends. */
  candidates: { count: number; jsonBytes: number; fields: number };
  candidatesForColdUs: { p50: number; p99: number };
  none: LatencyFigures;
  withBadges: LatencyFigures;
  /** withBadges minus none, per completion. */
  costUs: { p50: number; p99: number; mean: number; cpu: number; script: number | null };
}

/** Badge `i` of the mix: a fixed rotation of shapes; thresholds out of reach of the run. */
function criteriaOf(i: number): BadgeCriteria {
  const far = 1_000_000 + i;
  const course = i % 3 === 0 ? OTHER_COURSE : COURSE_ID;
  switch (i % 12) {
    case 0:
      return { type: 'xp_total', value: far };
    case 1:
      return { type: 'lessons_completed', value: far };
    case 2:
      return { type: 'lessons_completed', value: far, course_id: course };
    case 3:
      return { type: 'videos_completed', value: far };
    case 4:
      return { type: 'level_reached', value: 100 + (i % 50) };
    case 5:
      return { all: [{ type: 'xp_total', value: 50 + i }, { type: 'lessons_completed', value: far, course_id: COURSE_ID }] };
    case 6:
      return { any: [{ type: 'courses_completed', value: 50 + i }, { type: 'courses_completed', value: 1, course_id: OTHER_COURSE }] };
    case 7:
      return [{ type: 'active_days', value: far } as const, { type: 'streak_days', value: far } as const, { type: 'goals_completed', value: far } as const][i % 3]!;
    case 8:
      return {
        all: [
          { any: [{ type: 'lessons_completed', value: far }, { type: 'videos_completed', value: far }] },
          { any: [{ type: 'xp_total', value: far }, { all: [{ type: 'active_days', value: 2 }, { type: 'streak_days', value: far }] }] },
        ],
      };
    case 9:
      // Not a completion's candidate: quizzes and watch time only.
      return { any: [{ type: 'quiz_score', min_score: 90 + (i % 10) }, { type: 'watch_time_seconds', value: far }, { type: 'quizzes_passed', value: far }] };
    case 10:
      return { all: [{ type: 'quiz_score', min_score: 0, quiz_id: `bench-q${i}` }, { type: 'xp_total', value: far }] };
    default:
      return { any: [{ type: 'lessons_completed', value: far, course_id: `bench-c${i}` }, { type: 'goals_completed', value: far }] };
  }
}

const badgeInputs = Array.from({ length: BADGES }, (_, i) => ({ id: `bench-b${i}`, name: `Badge ${i}`, criteria: criteriaOf(i), xpReward: 5 }));

/** Time spent in the Catalog's methods on a completion's path, wrapped in place. */
const lookup = { ms: 0 };
function timeCatalogLookups(): void {
  const proto = Catalog.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['lesson', 'course', 'lessonCandidates', 'courseShape']) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        lookup.ms += performance.now() - t0;
      }
    };
  }
}

const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

interface Side {
  name: 'none' | 'withBadges';
  env: BenchEnv;
  app: App | null;
  learners: string[];
  lessons: string[];
  next: number;
  samplesMs: number[];
  cpuUs: number;
  lookupMs: number;
  /** Its own redis-server, when PRIVATE_REDIS. */
  redis: ChildProcess | null;
  scriptUs: number;
  redisCpuS: number;
}

/** A redis-server of our own (no persistence, like the shared one here), so its stats count one app only. */
async function startPrivateRedis(side: Side): Promise<void> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  side.redis = child;
  let spawnError: Error | null = null;
  child.once('error', (err) => (spawnError = err));
  process.on('exit', () => child.kill('SIGKILL'));
  side.env.redisUrl = `redis://127.0.0.1:${port}`;
  const probe = new Redis(side.env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    for (let i = 0; ; i += 1) {
      if (spawnError) throw new Error(`cannot start redis-server (${(spawnError as Error).message}); install it or set BENCH_PRIVATE_REDIS=0`);
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (err) {
        if (i >= 50) throw new Error(`redis-server on port ${port} did not answer: ${(err as Error).message}`);
        probe.disconnect();
        await sleep(100);
      }
    }
  } finally {
    probe.disconnect();
  }
  log(`${side.name}: private redis-server on ${side.env.redisUrl} (pid ${child.pid})`);
}

/** Microseconds Redis has spent running scripts (EVAL and EVALSHA), from INFO commandstats. */
async function scriptMicros(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=\d+,usec=(\d+)/gm)) total += Number(m[1]);
  return total;
}

async function startSide(side: Side, withBadges: boolean): Promise<void> {
  if (PRIVATE_REDIS) await startPrivateRedis(side);
  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    REDIS_URL: side.env.redisUrl,
    DATABASE_URL: side.env.databaseUrl,
    KEY_PREFIX: side.env.keyPrefix,
    JWT_SECRET: side.env.jwtSecret,
    FLUSHER: 'false',
    PROJECTOR: 'false',
    DEMO_CATALOG: 'false',
    LOG_LEVEL: 'warn',
  });
  side.app = await buildApp(config);
  const lessonsNeeded = Math.ceil((WARMUP + EVENTS * ROUNDS) / LEARNERS) + 1;
  const { input, lessonIds } = bigCourse(COURSE_ID, Math.ceil(lessonsNeeded / 100), Math.min(lessonsNeeded, 100), XP);
  await side.app.services.catalog.upsertCourse(input);
  await side.app.services.catalog.upsertCourse(bigCourse(OTHER_COURSE, 1, 5, XP).input);
  if (withBadges) for (const b of badgeInputs) await side.app.services.catalog.upsertBadge(b);
  side.lessons = lessonIds;
  side.learners = Array.from({ length: LEARNERS }, (_, i) => `bench-badge-learner-${i}`);
  for (const l of side.learners) await side.app.services.progress.enroll(l, COURSE_ID);
}

/** Complete `count` fresh (learner, lesson) pairs one at a time; keep the samples when `record`. */
async function run(side: Side, count: number, record: boolean): Promise<void> {
  const progress = side.app!.services.progress;
  const redis = side.app!.redis as unknown as Redis;
  const script0 = record && PRIVATE_REDIS ? await scriptMicros(redis) : 0;
  const redisCpu0 = record && PRIVATE_REDIS ? await redisCpuSeconds(redis) : 0;
  const cpu0 = process.cpuUsage();
  const lookup0 = lookup.ms;
  for (let i = 0; i < count; i += 1) {
    const n = side.next++;
    // Lesson-major: every learner completes lesson 1, then lesson 2, ...
    const learner = side.learners[n % LEARNERS]!;
    const lesson = side.lessons[Math.floor(n / LEARNERS)]!;
    const t0 = performance.now();
    const done = await progress.completeLesson(learner, lesson);
    const ms = performance.now() - t0;
    if (done.xpAwarded !== XP || done.badgesUnlocked.length) throw new Error(`unexpected completion ${JSON.stringify(done)}`);
    if (record) side.samplesMs.push(ms);
  }
  if (record) {
    const cpu = process.cpuUsage(cpu0);
    side.cpuUs += cpu.user + cpu.system;
    side.lookupMs += lookup.ms - lookup0;
    if (PRIVATE_REDIS) {
      side.scriptUs += (await scriptMicros(redis)) - script0;
      side.redisCpuS += (await redisCpuSeconds(redis)) - redisCpu0;
    }
  }
}

function figures(side: Side): LatencyFigures {
  const sorted = [...side.samplesMs].sort((a, b) => a - b);
  const us = (ms: number) => round(ms * 1000, 0);
  return {
    events: sorted.length,
    p50Us: us(quantile(sorted, 0.5)),
    p90Us: us(quantile(sorted, 0.9)),
    p99Us: us(quantile(sorted, 0.99)),
    meanUs: us(sorted.reduce((s, x) => s + x, 0) / sorted.length),
    cpuUsPerEvent: round(side.cpuUs / sorted.length, 0),
    catalogLookupUsPerEvent: round((side.lookupMs * 1000) / sorted.length, 2),
    scriptUsPerEvent: PRIVATE_REDIS ? round(side.scriptUs / sorted.length, 0) : null,
    redisCpuUsPerEvent: PRIVATE_REDIS ? round((side.redisCpuS * 1e6) / sorted.length, 0) : null,
  };
}

const sides: Side[] = (['none', 'withBadges'] as const).map((name) => ({ name, env: newBenchEnv(), app: null, learners: [], lessons: [], next: 0, samplesMs: [], cpuUs: 0, lookupMs: 0, redis: null, scriptUs: 0, redisCpuS: 0 }));

async function main(): Promise<void> {
  log(`badges: ${BADGES} badges vs none; ${ROUNDS} rounds of ${EVENTS} completions per app, one at a time, after ${WARMUP} each`);
  await startSide(sides[0]!, false);
  await startSide(sides[1]!, true);
  const catalog = sides[1]!.app!.services.catalog.get();
  if (catalog.badges.length !== BADGES) throw new Error(`catalog holds ${catalog.badges.length} badges`);
  const candidates = catalog.lessonCandidates(COURSE_ID);
  log(`a completion judges ${candidates.ids.length} of the ${BADGES} badges (${candidates.json.length} bytes of rules, ${candidates.fields.length} fields)`);

  // candidatesFor cold: what the first completion of a course pays after a catalog change.
  const changed = new Set(['xp', 'lc', `cc:${COURSE_ID}`, 'vc', 'crs', `ec:${COURSE_ID}`, 'ad', 'sk', 'gc']);
  for (let i = 0; i < 200; i += 1) candidatesFor(catalog.badges, catalog.levels, changed);
  const cold: number[] = [];
  for (let i = 0; i < 1000; i += 1) {
    const t0 = performance.now();
    candidatesFor(catalog.badges, catalog.levels, changed);
    cold.push((performance.now() - t0) * 1000);
  }
  cold.sort((a, b) => a - b);

  timeCatalogLookups();
  for (const side of sides) await run(side, WARMUP, false);
  for (let r = 0; r < ROUNDS; r += 1) {
    // Alternate which app goes first, so drift on a shared machine hits both alike.
    for (const side of r % 2 ? [...sides].reverse() : sides) await run(side, EVENTS, true);
    log(`round ${r + 1}/${ROUNDS} done`);
  }

  const none = figures(sides[0]!);
  const withBadges = figures(sides[1]!);
  const out: BadgesResult = {
    benchmark: 'badges',
    config: { badges: BADGES, eventsPerRound: EVENTS, rounds: ROUNDS, warmup: WARMUP, learners: LEARNERS },
    candidates: { count: candidates.ids.length, jsonBytes: candidates.json.length, fields: candidates.fields.length },
    candidatesForColdUs: { p50: round(quantile(cold, 0.5), 1), p99: round(quantile(cold, 0.99), 1) },
    none,
    withBadges,
    costUs: {
      p50: withBadges.p50Us - none.p50Us,
      p99: withBadges.p99Us - none.p99Us,
      mean: withBadges.meanUs - none.meanUs,
      cpu: withBadges.cpuUsPerEvent - none.cpuUsPerEvent,
      script: withBadges.scriptUsPerEvent === null || none.scriptUsPerEvent === null ? null : withBadges.scriptUsPerEvent - none.scriptUsPerEvent,
    },
  };
  console.log(JSON.stringify(out, null, 2));
  const line = (name: string, f: LatencyFigures) =>
    `  ${name.padEnd(12)} p50 ${f.p50Us} µs  p90 ${f.p90Us} µs  p99 ${f.p99Us} µs  mean ${f.meanUs} µs  CPU ${f.cpuUsPerEvent} µs  catalog lookups ${f.catalogLookupUsPerEvent} µs` +
    (f.scriptUsPerEvent === null ? '' : `  script ${f.scriptUsPerEvent} µs  Redis CPU ${f.redisCpuUsPerEvent} µs`);
  console.log(
    [
      `\ncompleteLesson, one at a time, ${none.events} per app (${candidates.ids.length} of ${BADGES} badges judged per completion, ${candidates.json.length} bytes of rules):`,
      line('no badges', none),
      line(`${BADGES} badges`, withBadges),
      `  cost of the badges: p50 ${signed(out.costUs.p50)} µs, p99 ${signed(out.costUs.p99)} µs, mean ${signed(out.costUs.mean)} µs, CPU ${signed(out.costUs.cpu)} µs` +
        (out.costUs.script === null ? '' : `, script ${signed(out.costUs.script)} µs`) +
        ' per completion',
      `  candidatesFor, cold (once per course and catalog change): p50 ${out.candidatesForColdUs.p50} µs, p99 ${out.candidatesForColdUs.p99} µs`,
    ].join('\n'),
  );
  emitResult(out);
}

runMain(main, async () => {
  for (const side of sides) {
    const running = side.app;
    side.app = null;
    // Nothing to keep: the writer is off and the database goes next.
    if (running) await running.crash().catch(() => undefined);
    if (side.redis) {
      // Our own server: stopping it removes its keys; the database still goes.
      const child = side.redis;
      side.redis = null;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await destroyBenchEnv({ ...side.env, redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379' }).catch((err) => log(`clean-up: ${(err as Error).message}`));
    } else {
      await destroyBenchEnv(side.env);
    }
  }
  log('cleaned up databases and keys');
});
