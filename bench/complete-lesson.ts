/**
 * Benchmark: `completeLesson` over HTTP against the real server.
 *
 * Measures requests/s and latency (p50/p99) of the `completeLesson` GraphQL mutation at a fixed
 * concurrency. The server runs as a separate child process (`node --import tsx src/main.ts`),
 * so it and the load generator (autocannon, in this process) each get a core. Every request is
 * a fresh (learner, lesson) pair that succeeds: one course of MODULES x LESSONS lessons, LEARNERS
 * learners enrolled beforehand, pairs handed out lesson-major (lesson 1 for every learner, then
 * lesson 2, ...), each learner calling with their own token.
 *
 * After the run it checks that the XP landed (leaderboard sum vs acknowledged responses), stops
 * the server with SIGTERM (which drains the outbox), checks its exit code and counts the rows
 * that reached Postgres. Uses its own database (lms_bench_<id>) and key prefix (bench:<id>:),
 * removed at the end.
 *
 * Run:  npx tsx bench/complete-lesson.ts
 * Env:  BENCH_DURATION (s, 15)  BENCH_WARMUP (s, 3)  BENCH_CONNECTIONS (32)
 *       BENCH_LEARNERS (200)  BENCH_MODULES (20)  BENCH_LESSONS (25 per module)
 *       BENCH_PG_URL, BENCH_REDIS_URL (server base URLs; defaults are the local ones)
 *       BENCH_CPU_PROF=1 (the server writes a .cpuprofile to bench/results/prof/)
 */
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { signToken } from '../src/domain/auth/tokens';
import { Keys } from '../src/store/redis/keys';
import { GROUPS } from '../src/store/outbox/groups';
import {
  COMPLETE,
  destroyBenchEnv,
  emitResult,
  envInt,
  FILLER,
  freePort,
  gql,
  log,
  newBenchEnv,
  outboxBacklog,
  PairSource,
  pool,
  procCpuSeconds,
  redisCpuSeconds,
  ROOT,
  round,
  runMain,
  sleep,
  startBenchServer,
  tableCounts,
  upsertBigCourse,
  type GqlResponse,
  type ServerProcess,
} from './lib';

const DURATION = envInt('BENCH_DURATION', 15);
const WARMUP = envInt('BENCH_WARMUP', 3, 0);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const LEARNERS = envInt('BENCH_LEARNERS', 200);
const MODULES = envInt('BENCH_MODULES', 20);
const LESSONS_PER_MODULE = envInt('BENCH_LESSONS', 25);
const PARTITIONS = 64;
const XP = 10;
const COURSE_ID = 'bench-course';
const PROF_DIR = join(ROOT, 'bench', 'results', 'prof');

interface PhaseStats {
  ok: number;
  gqlErrors: number;
  errorCodes: Record<string, number>;
  errorSamples: string[];
  sampled: number;
  sampleMismatches: number;
  perSecond: number[];
}

interface PhaseResult {
  stats: PhaseStats;
  result: autocannon.Result;
  exhausted: boolean;
}

/** One autocannon run of `seconds` drawing pairs from `pairs`. */
function runPhase(url: string, seconds: number, pairs: PairSource, headersOf: autocannon.Request['headers'][], bodyOf: string[]): Promise<PhaseResult> {
  const stats: PhaseStats = { ok: 0, gqlErrors: 0, errorCodes: {}, errorSamples: [], sampled: 0, sampleMismatches: 0, perSecond: [] };
  let exhausted = false;
  let instance: autocannon.Instance | null = null;
  const started = Date.now();

  const setupRequest = (req: autocannon.Request): autocannon.Request => {
    const pair = pairs.take();
    if (!pair) {
      // Out of fresh pairs: stop rather than send requests bound to fail.
      if (!exhausted) {
        exhausted = true;
        setImmediate(() => instance?.stop());
      }
      req.headers = headersOf[0];
      req.body = FILLER;
      return req;
    }
    req.headers = headersOf[pair.learner];
    req.body = bodyOf[pair.lesson];
    return req;
  };

  const onResponse = (status: number, body: string): void => {
    if (status !== 200) {
      if (stats.errorSamples.length < 5) stats.errorSamples.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      return;
    }
    if (body.includes('"errors"')) {
      stats.gqlErrors += 1;
      try {
        const parsed = JSON.parse(body) as GqlResponse<unknown>;
        for (const e of parsed.errors ?? []) {
          const code = e.extensions?.code ?? 'UNKNOWN';
          stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1;
        }
      } catch {
        stats.errorCodes.UNPARSEABLE = (stats.errorCodes.UNPARSEABLE ?? 0) + 1;
      }
      if (stats.errorSamples.length < 5) stats.errorSamples.push(body.slice(0, 300));
      return;
    }
    if (!body.includes('"completeLesson"')) return; // filler
    stats.ok += 1;
    const second = Math.floor((Date.now() - started) / 1000);
    stats.perSecond[second] = (stats.perSecond[second] ?? 0) + 1;
    // Check every 500th success in full.
    if (stats.ok % 500 === 1) {
      stats.sampled += 1;
      const parsed = JSON.parse(body) as GqlResponse<{ completeLesson: { xpAwarded: number; totalXp: number } }>;
      const c = parsed.data?.completeLesson;
      if (!c || c.xpAwarded !== XP || c.totalXp < XP || c.totalXp % XP !== 0) stats.sampleMismatches += 1;
    }
  };

  return new Promise((resolve, reject) => {
    instance = autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration: seconds,
        timeout: 10,
        requests: [{ method: 'POST', setupRequest, onResponse }],
      },
      (err, result) => {
        if (err) reject(err);
        else {
          for (let i = 0; i < stats.perSecond.length; i += 1) stats.perSecond[i] ??= 0;
          resolve({ stats, result, exhausted });
        }
      },
    );
  });
}

export interface CompleteLessonResult {
  benchmark: 'complete-lesson';
  config: { durationS: number; warmupS: number; connections: number; learners: number; lessons: number; pairs: number };
  requestsPerSecond: number;
  successesPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  requests: { sent: number; completed: number; ok: number; non2xx: number; graphqlErrors: number; errorCodes: Record<string, number>; connErrors: number; timeouts: number };
  okPerSecond: number[];
  /** Busy share of one core during the timed run; postgres is not measured. */
  cpuPercent: { server: number | null; loadGenerator: number; redis: number };
  sampleChecks: { checked: number; mismatches: number };
  exhaustedPairs: boolean;
  verification: {
    acknowledged: number;
    landed: number;
    rankedLearners: number;
    leaderboardXp: number;
    outboxBacklogAfterRun: number;
    postgres: Record<string, number>;
    ok: boolean;
    notes: string[];
  };
  shutdown: { exitCode: number | null; signal: string | null; ms: number; killed: boolean };
}

const env = newBenchEnv();
let server: ServerProcess | null = null;

async function main(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/graphql`;
  log(`complete-lesson: db ${env.databaseUrl}, prefix ${env.keyPrefix}, port ${port}`);

  // BENCH_CPU_PROF=1: the server writes a V8 CPU profile on exit to PROF_DIR.
  server = startBenchServer({ cwd: ROOT, label: 'server', port, env, partitions: PARTITIONS, profDir: PROF_DIR });
  await server.waitHealthy(base);
  log(`server up (pid ${server.pid})`);

  const admin = await signToken('bench-admin', { secret: env.jwtSecret, roles: ['admin'] });
  const service = await signToken('bench-service', { secret: env.jwtSecret, roles: ['service'] });

  const lessonIds = await upsertBigCourse(url, admin, COURSE_ID, MODULES, LESSONS_PER_MODULE, XP);

  const learnerIds = Array.from({ length: LEARNERS }, (_, i) => `bench-learner-${i}`);
  let t0 = Date.now();
  await pool(learnerIds.length, 16, async (i) => {
    await gql(url, service, 'mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { c: COURSE_ID, l: learnerIds[i] });
  });
  log(`course of ${lessonIds.length} lessons; ${LEARNERS} learners enrolled in ${Date.now() - t0} ms`);

  const headersOf: autocannon.Request['headers'][] = await Promise.all(
    learnerIds.map(async (id) => ({
      'content-type': 'application/json',
      authorization: `Bearer ${await signToken(id, { secret: env.jwtSecret })}`,
    })),
  );
  const bodyOf = lessonIds.map((lessonId) => JSON.stringify({ query: COMPLETE, variables: { lessonId } }));
  const pairs = new PairSource(LEARNERS, lessonIds.length);

  let warmupOk = 0;
  if (WARMUP > 0) {
    log(`warm-up ${WARMUP} s`);
    const warm = await runPhase(url, WARMUP, pairs, headersOf, bodyOf);
    warmupOk = warm.stats.ok;
    log(`warm-up: ${warm.stats.ok} ok, ${warm.stats.gqlErrors} GraphQL errors, ${warm.result.non2xx} non-2xx`);
  }

  const redis = new Redis(env.redisUrl);
  let backlog: number;
  let cpu: CompleteLessonResult['cpuPercent'];
  let phase: PhaseResult;
  try {
    log(`run ${DURATION} s at ${CONNECTIONS} connections (${pairs.left} fresh pairs left)`);
    const before = { server: procCpuSeconds(server.pid!), loadgen: process.cpuUsage(), redis: await redisCpuSeconds(redis), at: Date.now() };
    phase = await runPhase(url, DURATION, pairs, headersOf, bodyOf);
    const wall = (Date.now() - before.at) / 1000;
    const serverAfter = procCpuSeconds(server.pid!);
    const loadgen = process.cpuUsage(before.loadgen);
    cpu = {
      server: serverAfter === null || before.server === null ? null : round(((serverAfter - before.server) / wall) * 100),
      loadGenerator: round(((loadgen.user + loadgen.system) / 1e6 / wall) * 100),
      redis: round((((await redisCpuSeconds(redis)) - before.redis) / wall) * 100),
    };
    // Outbox entries the in-process flusher has not written yet when the load stops.
    const keys = new Keys(env.keyPrefix, PARTITIONS);
    backlog = await outboxBacklog(redis, keys);
    // The leaderboard follows the outbox (its own consumer group): wait until the projection has
    // caught up before summing it, at most 30 s.
    const deadline = Date.now() + 30_000;
    while ((await outboxBacklog(redis, keys, GROUPS.boards)) > 0 && Date.now() < deadline) {
      await sleep(50);
    }
  } finally {
    redis.disconnect();
  }
  const { stats, result, exhausted } = phase;
  if (exhausted) log('WARNING: ran out of fresh (learner, lesson) pairs; raise BENCH_LEARNERS');
  log(`CPU during the run: server ${cpu.server}%, load generator ${cpu.loadGenerator}%, redis ${cpu.redis}% (of one core)`);

  // Did the XP land? Sum the global board (every learner scores XP per completion).
  let leaderboardXp = 0;
  let rankedLearners = 0;
  for (let offset = 0; ; offset += 100) {
    const page = await gql<{ leaderboard: { totalCount: number; entries: { score: number }[] } }>(
      url,
      admin,
      'query($o: Int) { leaderboard(first: 100, offset: $o) { totalCount entries { score } } }',
      { o: offset },
    );
    rankedLearners = page.leaderboard.totalCount;
    leaderboardXp += page.leaderboard.entries.reduce((s, e) => s + e.score, 0);
    if (page.leaderboard.entries.length < 100) break;
  }

  log('stopping the server (SIGTERM)');
  t0 = Date.now();
  const stopped = await server.stop();
  log(`server exited with code ${stopped.code}${stopped.signal ? ` (signal ${stopped.signal})` : ''} after ${stopped.ms} ms`);
  const postgres = await tableCounts(env.databaseUrl);

  const acknowledged = warmupOk + stats.ok;
  const landed = leaderboardXp / XP;
  const notes: string[] = [];
  // Requests in flight when autocannon stops are executed but their responses are dropped.
  const slack = (WARMUP > 0 ? 2 : 1) * CONNECTIONS;
  let ok = true;
  if (landed < acknowledged || landed > acknowledged + slack) {
    ok = false;
    notes.push(`leaderboard holds ${landed} completions, ${acknowledged} acknowledged (allowed up to +${slack} in flight at stop)`);
  }
  if (postgres.xp_transactions !== landed || postgres.lesson_progress !== landed) {
    ok = false;
    notes.push(`Postgres holds ${postgres.xp_transactions} xp_transactions / ${postgres.lesson_progress} lesson_progress, expected ${landed}`);
  }
  if (postgres.enrollments !== LEARNERS) {
    ok = false;
    notes.push(`Postgres holds ${postgres.enrollments} enrollments, expected ${LEARNERS}`);
  }
  if (stats.gqlErrors > 0 || result.non2xx > 0 || stats.sampleMismatches > 0) ok = false;
  if (stopped.code !== 0) {
    ok = false;
    notes.push(`server exit code ${stopped.code} (signal ${stopped.signal}, killed ${stopped.killed})`);
  }
  for (const s of stats.errorSamples) notes.push(`sample error: ${s}`);

  const out: CompleteLessonResult = {
    benchmark: 'complete-lesson',
    config: { durationS: DURATION, warmupS: WARMUP, connections: CONNECTIONS, learners: LEARNERS, lessons: lessonIds.length, pairs: pairs.size },
    requestsPerSecond: round(result.requests.mean),
    successesPerSecond: round(stats.ok / result.duration),
    latencyMs: {
      mean: round(result.latency.mean, 2),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    requests: {
      sent: result.requests.sent,
      completed: result.requests.total,
      ok: stats.ok,
      non2xx: result.non2xx,
      graphqlErrors: stats.gqlErrors,
      errorCodes: stats.errorCodes,
      connErrors: result.errors,
      timeouts: result.timeouts,
    },
    okPerSecond: stats.perSecond,
    cpuPercent: cpu,
    sampleChecks: { checked: stats.sampled, mismatches: stats.sampleMismatches },
    exhaustedPairs: exhausted,
    verification: { acknowledged, landed, rankedLearners, leaderboardXp, outboxBacklogAfterRun: backlog, postgres, ok, notes },
    shutdown: { exitCode: stopped.code, signal: stopped.signal, ms: stopped.ms, killed: stopped.killed },
  };

  console.log(JSON.stringify(out, null, 2));
  console.log(
    `\ncompleteLesson @ ${CONNECTIONS} connections, ${result.duration} s: ${out.requestsPerSecond} req/s, ` +
      `p50 ${out.latencyMs.p50} ms, p99 ${out.latencyMs.p99} ms, non-2xx ${result.non2xx}, GraphQL errors ${stats.gqlErrors}; ` +
      `XP check ${ok ? 'OK' : 'FAILED'}; server exit ${stopped.code} after ${stopped.ms} ms`,
  );
  emitResult(out);
  if (!ok) throw new Error(`verification failed: ${notes.join('; ') || 'errors during the run'}`);
}

runMain(main, async () => {
  if (server?.running) {
    log('stopping the server');
    await server.stop(30_000);
  }
  await destroyBenchEnv(env);
  log('cleaned up database and keys');
});
