/**
 * Side-by-side benchmark: the same load against two (or more) checkouts of the project in one
 * run, interleaved, so a noisy shared machine affects each alike.
 *
 * Each checkout is a directory holding the project with its own node_modules (a git worktree of
 * an older commit, the main checkout, ...). For each one the bench starts the server the same way
 * (`node --import tsx src/main.ts`, cwd = the checkout, its own free PORT, HOST=127.0.0.1,
 * NODE_ENV=production, DEMO_CATALOG=false, LOG_LEVEL=warn, PARTITIONS=64, a random JWT_SECRET,
 * its own database lms_bench_<id> and key prefix bench:<id>:), waits for /health and seeds it
 * through the GraphQL API only, with tokens it signs itself (HS256, node:crypto). It imports
 * nothing from src/, so it works against any checkout that serves the contract
 * (../shared/contract/schema.graphql).
 *
 * Scenarios (each: seed every checkout, then BENCH_ROUNDS rounds, each round one measured window
 * per checkout in turn: baseline first, e.g. old, new, old, new):
 *   completeLesson     one course of 20 x 25 lessons, BENCH_LEARNERS learners enrolled; every
 *                      request completes a fresh (learner, lesson) pair with the learner's token.
 *   leaderboard-top10  20 learners with 500 completed lessons each (course of 500 lessons, seeded
 *                      with the service token); `leaderboard(first: 10)` anonymously.
 *   my-rank            the same plus BENCH_RANK_LEARNERS learners with 1-5 completions each;
 *                      `me { rank } leaderboard { aroundMe(radius: 5) }`, each connection with its
 *                      own learner's token (learners spread evenly over the board).
 *   recordEvents       only when the schema has Mutation.recordEvents (introspection, or a probe
 *                      with no events when introspection is off; "n/a" otherwise): batches of
 *                      BENCH_EVENT_BATCH LESSON_COMPLETED events (fresh pairs of a 2000-lesson
 *                      course, BENCH_EVENT_LEARNERS learners) with the service token; figures are
 *                      per event.
 *   board-subscribers  completeLesson as above (its own course and learners) while BENCH_BOARD_SUBSCRIBERS
 *                      WebSocket clients (graphql-ws, each its own connection and learner token)
 *                      hold `leaderboardChanged(first: 100)` on the global board, opened after
 *                      seeding and kept for every round; also reports the server's RSS at the end
 *                      of each window and the board messages the subscribers received per second.
 * Each window: BENCH_WARMUP s of the same load (not measured), then BENCH_DURATION s measured with
 * autocannon (in this process) at BENCH_CONNECTIONS connections.
 *
 * Figures per window: requests/s (events/s), latency p50/p99 (autocannon, per request), errors
 * (non-2xx + GraphQL errors + connection errors + timeouts + rejected events), server CPU per
 * request/event (utime + stime of the server pid from /proc/<pid>/stat over the window), and Redis
 * commands per request/event (delta of INFO commandstats `calls` over all commands but INFO,
 * which includes commands run inside Lua scripts).
 *
 * Isolation: all servers share one Redis, and commandstats is server-wide. While one checkout is
 * under load (warm-up and window) every other server is frozen with SIGSTOP (SIGCONT afterwards),
 * so their background work (flusher polling) neither adds Redis commands nor takes CPU.
 * Other clients of a shared Redis (other people's tests) would count too, so by default the bench
 * starts a redis-server of its own (from PATH, free port, no persistence, like the local one;
 * stopped at the end) that only the servers under test use. With BENCH_PRIVATE_REDIS=0, or when
 * BENCH_REDIS_URL is set, the servers use that shared Redis instead, and every server is frozen
 * for BENCH_QUIET_MS before the warm-up and again after the window: the mean command rate seen
 * then ("other cmd/s") is subtracted, scaled to the window (raw and corrected counts are in the
 * JSON). That is exact on a quiet Redis and only approximate when others' traffic is bursty.
 * After seeding a checkout the bench waits until its server is idle (the flusher caught up)
 * before anything is measured.
 *
 * Output: one table per scenario (checkout x round, with the median of the rounds and ratios of
 * each checkout to the baseline) on stdout, progress on stderr, everything as JSON in
 * bench/results/compare-<timestamp>.json. Databases, key prefixes and servers are removed at the
 * end, on failure and on Ctrl-C.
 *
 * Run:  npx tsx bench/compare.ts --checkout old=/work/bench-old --checkout new=/work/main
 *       npm run bench:compare -- --checkout old=../bench-old --checkout new=. --scenario my-rank
 * Flags: --checkout <label>=<dir>  (repeatable, at least one; the one labelled "old", else the
 *                                   first, is the baseline and runs first in each round)
 *        --scenario <name>         (repeatable; default all: completeLesson, leaderboard-top10,
 *                                   my-rank, recordEvents)
 * Env:  BENCH_DURATION (s, 10)  BENCH_WARMUP (s, 2)  BENCH_ROUNDS (2)  BENCH_CONNECTIONS (32)
 *       BENCH_LEARNERS (200)  BENCH_RANK_LEARNERS (1000)  BENCH_EVENT_LEARNERS (1000)
 *       BENCH_EVENT_BATCH (100)  BENCH_BOARD_SUBSCRIBERS (200)
 *       BENCH_QUIET_MS (shared Redis only: 1000; 0 = no probe, no correction)
 *       BENCH_SEED_CONCURRENCY (16)  BENCH_SEED_BATCH (20 aliased mutations per seeding request)
 *       BENCH_PG_URL, BENCH_REDIS_URL (server base URLs; defaults are the local ones)
 *       BENCH_PRIVATE_REDIS (1 unless BENCH_REDIS_URL is set: a redis-server of the bench's own;
 *       0: the shared Redis at BENCH_REDIS_URL, default redis://127.0.0.1:6379)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import {
  COMPLETE,
  destroyBenchEnv,
  envInt,
  FILLER,
  freePort,
  gql,
  log,
  newBenchEnv,
  PairSource,
  pool,
  procCpuSeconds,
  redisCommandCalls,
  redisCpuSeconds,
  ROOT,
  round,
  runMain,
  signHs256,
  sleep,
  startBenchServer,
  upsertBigCourse,
  type BenchEnv,
  type GqlResponse,
  type ServerExit,
  type ServerProcess,
} from './common';

const DURATION = envInt('BENCH_DURATION', 10);
const WARMUP = envInt('BENCH_WARMUP', 2, 0);
const ROUNDS = envInt('BENCH_ROUNDS', 2);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 32);
const LEARNERS = envInt('BENCH_LEARNERS', 200);
const RANK_LEARNERS = envInt('BENCH_RANK_LEARNERS', 1000);
const EVENT_LEARNERS = envInt('BENCH_EVENT_LEARNERS', 1000);
const EVENT_BATCH = envInt('BENCH_EVENT_BATCH', 100);
const BOARD_SUBSCRIBERS = envInt('BENCH_BOARD_SUBSCRIBERS', 200);
const SEED_CONCURRENCY = envInt('BENCH_SEED_CONCURRENCY', 16);
const SEED_BATCH = envInt('BENCH_SEED_BATCH', 20);
const PRIVATE_REDIS = (process.env.BENCH_PRIVATE_REDIS ?? (process.env.BENCH_REDIS_URL ? '0' : '1')) !== '0';
/** Nobody else uses a private Redis: no probes then. */
const QUIET_MS = PRIVATE_REDIS ? 0 : envInt('BENCH_QUIET_MS', 1000, 0);
const PARTITIONS = 64;
const XP = 10;
/** Learners at the top of the board (leaderboard-top10, my-rank) and the lessons each completes. */
const TOP_LEARNERS = 20;
const TOP_LESSONS = 500;

const TOP10 = '{ leaderboard(first: 10) { totalCount entries { rank score learner { id displayName } } } }';
const MY_RANK = '{ me { totalXp rank { rank score } } leaderboard(first: 0) { aroundMe(radius: 5) { rank score learner { id } } } }';
const RECORD = `mutation Record($events: [LearningEventInput!]!) {
  recordEvents(events: $events) { accepted duplicates rejected { index code } }
}`;
const JSON_HEADERS = { 'content-type': 'application/json' };

const SCENARIOS = ['completeLesson', 'leaderboard-top10', 'my-rank', 'recordEvents', 'board-subscribers'] as const;
const BOARD_SUBSCRIPTION = 'subscription { leaderboardChanged(first: 100) { totalCount entries { rank score learner { id } } } }';
type ScenarioName = (typeof SCENARIOS)[number];

// --- Checkouts ------------------------------------------------------------------------------

interface Target {
  label: string;
  dir: string;
  git: { commit: string | null; dirty: boolean | null };
  env: BenchEnv;
  url: string;
  server: ServerProcess | null;
  admin: string;
  service: string;
  recordEvents: { present: boolean; how: string } | null;
  seeded: Set<string>;
  complete?: { pairs: PairSource; headers: Record<string, string>[]; bodies: string[] };
  subsComplete?: { pairs: PairSource; headers: Record<string, string>[]; bodies: string[] };
  /** board-subscribers: the open WebSocket clients and the messages they received so far. */
  boardWatch?: { clients: { dispose(): Promise<void> }[]; messages: number; errors: string[] };
  rankTokens?: string[];
  events?: { pairs: PairSource; learnerIds: string[]; lessonIds: string[]; seq: number };
  shutdown?: ServerExit;
}

function git(dir: string, ...args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function parseCli(): { targets: Target[]; scenarios: ScenarioName[] } {
  const { values } = parseArgs({
    options: {
      checkout: { type: 'string', multiple: true },
      scenario: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const usage = 'usage: npx tsx bench/compare.ts --checkout old=<dir> --checkout new=<dir> [--scenario <name> ...]';
  if (values.help) {
    console.log(`${usage}\nscenarios: ${SCENARIOS.join(', ')}; settings: see the header of bench/compare.ts`);
    process.exit(0);
  }
  const specs = values.checkout ?? [];
  if (!specs.length) throw new Error(`no --checkout given\n${usage}`);
  const targets: Target[] = [];
  for (const spec of specs) {
    const m = /^([A-Za-z0-9_-]+)=(.+)$/.exec(spec);
    if (!m) throw new Error(`--checkout must be <label>=<dir> (got "${spec}")`);
    const [, label, rawDir] = m as unknown as [string, string, string];
    const dir = resolve(rawDir);
    if (targets.some((t) => t.label === label)) throw new Error(`checkout label "${label}" given twice`);
    if (!existsSync(join(dir, 'src', 'main.ts'))) throw new Error(`${label}: ${dir} has no src/main.ts`);
    if (!existsSync(join(dir, 'node_modules', 'tsx'))) throw new Error(`${label}: ${dir} has no node_modules/tsx (run npm ci there)`);
    const status = git(dir, 'status', '--porcelain', '--', 'src', 'migrations', 'package.json');
    targets.push({
      label,
      dir,
      git: { commit: git(dir, 'rev-parse', 'HEAD'), dirty: status === null ? null : status !== '' },
      env: newBenchEnv(),
      url: '',
      server: null,
      admin: '',
      service: '',
      recordEvents: null,
      seeded: new Set(),
    });
  }
  // The baseline ("old", else the first) runs first in every round.
  const baseIndex = Math.max(0, targets.findIndex((t) => t.label === 'old'));
  targets.unshift(...targets.splice(baseIndex, 1));

  const scenarios = (values.scenario ?? [...SCENARIOS]) as ScenarioName[];
  const unknown = scenarios.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  return { targets, scenarios: SCENARIOS.filter((s) => scenarios.includes(s)) };
}

async function startTarget(t: Target): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  t.url = `${base}/graphql`;
  log(`${t.label}: ${t.dir} (${t.git.commit?.slice(0, 7) ?? 'no git'}${t.git.dirty ? ', src dirty' : ''}), db ${t.env.databaseUrl}, prefix ${t.env.keyPrefix}, port ${port}`);
  // BENCH_CPU_PROF=1: each server writes a V8 CPU profile on exit to bench/results/prof/<label>/.
  t.server = startBenchServer({
    cwd: t.dir,
    label: t.label,
    port,
    env: t.env,
    partitions: PARTITIONS,
    profDir: join(ROOT, 'bench', 'results', 'prof', t.label),
    extraEnv: extraEnv(t.label),
  });
  await t.server.waitHealthy(base);
  t.admin = signHs256(t.env.jwtSecret, 'bench-admin', ['admin']);
  t.service = signHs256(t.env.jwtSecret, 'bench-service', ['service']);
  t.recordEvents = await detectRecordEvents(t);
  log(`${t.label}: up (pid ${t.server.pid}); Mutation.recordEvents ${t.recordEvents.present ? 'present' : 'absent'} (${t.recordEvents.how})`);
}

/** BENCH_ENV_<label>="K=V,K=V": extra server variables for one checkout (e.g. FLUSHER=false to see what the write-behind costs). */
function extraEnv(label: string): Record<string, string> {
  const spec = process.env[`BENCH_ENV_${label}`] ?? '';
  return Object.fromEntries(
    spec
      .split(',')
      .map((kv) => kv.trim())
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

/** Does the served schema have Mutation.recordEvents? Introspection first; a probe with no events when introspection is off. */
async function detectRecordEvents(t: Target): Promise<{ present: boolean; how: string }> {
  try {
    const data = await gql<{ __schema: { mutationType: { fields: { name: string }[] } | null } }>(
      t.url,
      t.service,
      '{ __schema { mutationType { fields { name } } } }',
    );
    return { present: !!data.__schema.mutationType?.fields.some((f) => f.name === 'recordEvents'), how: 'introspection' };
  } catch (err) {
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${t.service}` },
      body: JSON.stringify({ query: 'mutation { recordEvents(events: []) { accepted } }' }),
    });
    const body = (await res.json().catch(() => ({}))) as GqlResponse<{ recordEvents?: unknown }>;
    if (body.data?.recordEvents) return { present: true, how: 'probe (introspection refused)' };
    const messages = (body.errors ?? []).map((e) => e.message).join('; ');
    if (/Cannot query field "recordEvents"/.test(messages)) return { present: false, how: 'probe (introspection refused)' };
    return { present: false, how: `unknown: introspection failed (${(err as Error).message.slice(0, 120)}), probe said ${messages.slice(0, 120)}` };
  }
}

// --- Seeding (GraphQL only) ----------------------------------------------------------------

const lit = (s: string): string => JSON.stringify(s);

/** Run mutation fields (inline arguments) as aliased batches of SEED_BATCH, SEED_CONCURRENCY requests in flight. */
async function mutateMany(t: Target, token: string, fields: string[]): Promise<void> {
  const batches = Math.ceil(fields.length / SEED_BATCH);
  await pool(batches, SEED_CONCURRENCY, async (b) => {
    const part = fields.slice(b * SEED_BATCH, (b + 1) * SEED_BATCH);
    await gql(t.url, token, `mutation { ${part.map((f, i) => `m${i}: ${f}`).join(' ')} }`);
  });
}

const enrollField = (courseId: string, learnerId: string) => `enroll(courseId: ${lit(courseId)}, learnerId: ${lit(learnerId)}) { id }`;
const completeField = (lessonId: string, learnerId: string) => `completeLesson(lessonId: ${lit(lessonId)}, learnerId: ${lit(learnerId)}) { lessonId }`;

const upsertCourse = (t: Target, id: string, modules: number, lessonsPerModule: number): Promise<string[]> =>
  upsertBigCourse(t.url, t.admin, id, modules, lessonsPerModule, XP);

const BOARD_COURSE = 'bench-board';
const topIds = Array.from({ length: TOP_LEARNERS }, (_, i) => `bench-top-${i}`);
const rankIds = Array.from({ length: RANK_LEARNERS }, (_, i) => `bench-rank-${i}`);
/** Lessons each my-rank learner completes: 1 to 5. */
const rankCompletions = (i: number): number => 1 + (i % 5);

/** leaderboard-top10's data: TOP_LEARNERS learners with TOP_LESSONS completions each. */
async function seedTop(t: Target): Promise<void> {
  if (t.seeded.has('top')) return;
  const lessonIds = await upsertCourse(t, BOARD_COURSE, 20, TOP_LESSONS / 20);
  await mutateMany(t, t.service, topIds.map((id) => enrollField(BOARD_COURSE, id)));
  // Lesson-major: one request holds one lesson for each of the top learners.
  const fields: string[] = [];
  for (const lessonId of lessonIds) for (const id of topIds) fields.push(completeField(lessonId, id));
  await mutateMany(t, t.service, fields);
  t.seeded.add('top');
}

/** my-rank's data: the top learners plus RANK_LEARNERS learners with a few completions each. */
async function seedRank(t: Target): Promise<void> {
  await seedTop(t);
  if (t.seeded.has('rank')) return;
  await mutateMany(t, t.service, rankIds.map((id) => enrollField(BOARD_COURSE, id)));
  const fields: string[] = [];
  for (let lesson = 0; lesson < 5; lesson += 1) {
    rankIds.forEach((id, i) => {
      if (lesson < rankCompletions(i)) fields.push(completeField(`${BOARD_COURSE}-l${lesson + 1}`, id));
    });
  }
  await mutateMany(t, t.service, fields);
  // Learners spread evenly from the top of the board to the bottom: the top learners, then the others by score.
  const byScore = [...topIds, ...rankIds.map((id, i) => ({ id, n: rankCompletions(i) })).sort((a, b) => b.n - a.n).map((r) => r.id)];
  const picks = Math.min(CONNECTIONS, byScore.length);
  t.rankTokens = Array.from({ length: picks }, (_, k) => {
    const id = byScore[picks === 1 ? 0 : Math.round((k * (byScore.length - 1)) / (picks - 1))]!;
    return signHs256(t.env.jwtSecret, id);
  });
  t.seeded.add('rank');
}

/** Wait until the server has been idle (< 5% of a core) for two readings 250 ms apart, up to `timeoutMs`. */
async function waitIdle(t: Target, timeoutMs = 60_000): Promise<void> {
  const pid = t.server!.pid!;
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  let last = procCpuSeconds(pid);
  while (Date.now() < deadline) {
    await sleep(250);
    const now = procCpuSeconds(pid);
    if (now === null || last === null) return;
    quiet = now - last < 0.0125 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) return;
  }
  log(`${t.label}: WARNING: server still busy ${timeoutMs / 1000} s after seeding; measuring anyway`);
}

// --- Load -----------------------------------------------------------------------------------

interface LoadOutcome {
  result: autocannon.Result;
  /** Responses with the expected data and no GraphQL errors. */
  ok: number;
  gqlErrors: number;
  errorCodes: Record<string, number>;
  errorSamples: string[];
  /** What the figures are per: ok requests, or events in ok responses (recordEvents). */
  units: number;
  rejectedEvents: number;
  exhausted: boolean;
}

interface LoadSpec {
  /** A substring of every successful response body (fillers lack it). */
  okMarker: string;
  body?: string;
  headers?: Record<string, string>;
  /** Per-request body and headers; call `exhaust()` (and return a filler) when nothing is left. */
  setupRequest?: (req: autocannon.Request, exhaust: () => void) => autocannon.Request;
  /** Per-connection set-up (e.g. its own token). */
  setupClient?: (client: autocannon.Client) => void;
  /** Units in a successful response (default 1); may count rejections into the outcome. */
  unitsOf?: (body: string, out: LoadOutcome) => number;
}

function runLoad(url: string, seconds: number, spec: LoadSpec): Promise<LoadOutcome> {
  const out: Omit<LoadOutcome, 'result'> = { ok: 0, gqlErrors: 0, errorCodes: {}, errorSamples: [], units: 0, rejectedEvents: 0, exhausted: false };
  let instance: autocannon.Instance | null = null;
  const exhaust = () => {
    if (out.exhausted) return;
    out.exhausted = true;
    setImmediate(() => instance?.stop());
  };
  const onResponse = (status: number, body: string): void => {
    if (status !== 200) {
      if (out.errorSamples.length < 5) out.errorSamples.push(`HTTP ${status}: ${body.slice(0, 300)}`);
      return;
    }
    if (body.includes('"errors"')) {
      out.gqlErrors += 1;
      try {
        for (const e of (JSON.parse(body) as GqlResponse<unknown>).errors ?? []) {
          const code = e.extensions?.code ?? 'UNKNOWN';
          out.errorCodes[code] = (out.errorCodes[code] ?? 0) + 1;
        }
      } catch {
        out.errorCodes.UNPARSEABLE = (out.errorCodes.UNPARSEABLE ?? 0) + 1;
      }
      if (out.errorSamples.length < 5) out.errorSamples.push(body.slice(0, 300));
      return;
    }
    if (!body.includes(spec.okMarker)) return; // a filler
    out.ok += 1;
    out.units += spec.unitsOf ? spec.unitsOf(body, out as LoadOutcome) : 1;
  };
  const request: autocannon.Request = { method: 'POST', onResponse };
  const setup = spec.setupRequest;
  if (setup) request.setupRequest = (req: autocannon.Request) => setup(req, exhaust);
  return new Promise((resolvePromise, reject) => {
    instance = autocannon(
      {
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration: seconds,
        timeout: 10,
        headers: { ...JSON_HEADERS, ...spec.headers },
        ...(spec.body === undefined ? {} : { body: spec.body }),
        ...(spec.setupClient ? { setupClient: spec.setupClient } : {}),
        requests: [request],
      },
      (err, result) => (err ? reject(err) : resolvePromise({ ...out, result })),
    );
  });
}

// --- Scenarios ------------------------------------------------------------------------------

interface Scenario {
  name: ScenarioName;
  /** What the per-unit figures are per. */
  unit: 'request' | 'event';
  query: string;
  /** Why the scenario does not apply to a checkout, or null. */
  notApplicable(t: Target): string | null;
  seed(t: Target): Promise<void>;
  /** One request outside the measured windows that must succeed. @throws when the checkout cannot run the scenario */
  check(t: Target): Promise<void>;
  load(t: Target, seconds: number): Promise<LoadOutcome>;
}

const completeLesson: Scenario = {
  name: 'completeLesson',
  unit: 'request',
  query: COMPLETE,
  notApplicable: () => null,
  async seed(t) {
    t.complete = await seedCompletions(t, 'bench-course', 'bench-learner');
  },
  check: (t) => checkCompletion(t, t.complete!),
  load: (t, seconds) => loadCompletions(t, t.complete!, seconds),
};

/** A course of 20 x 25 lessons and LEARNERS learners enrolled in it, with their tokens and request bodies. */
async function seedCompletions(t: Target, course: string, learnerPrefix: string): Promise<NonNullable<Target['complete']>> {
  const lessonIds = await upsertCourse(t, course, 20, 25);
  const learnerIds = Array.from({ length: LEARNERS }, (_, i) => `${learnerPrefix}-${i}`);
  await mutateMany(t, t.service, learnerIds.map((id) => enrollField(course, id)));
  return {
    pairs: new PairSource(LEARNERS, lessonIds.length),
    headers: learnerIds.map((id) => ({ ...JSON_HEADERS, authorization: `Bearer ${signHs256(t.env.jwtSecret, id)}` })),
    bodies: lessonIds.map((lessonId) => JSON.stringify({ query: COMPLETE, variables: { lessonId } })),
  };
}

async function checkCompletion(t: Target, c: NonNullable<Target['complete']>): Promise<void> {
    const pair = c.pairs.take();
    if (!pair) throw new Error('no fresh (learner, lesson) pair left');
    const res = await fetch(t.url, { method: 'POST', headers: c.headers[pair.learner], body: c.bodies[pair.lesson] });
    const body = (await res.json()) as GqlResponse<{ completeLesson: { xpAwarded: number } }>;
    if (body.data?.completeLesson?.xpAwarded !== XP) throw new Error(`completeLesson answered ${JSON.stringify(body).slice(0, 300)}`);
}

function loadCompletions(t: Target, c: NonNullable<Target['complete']>, seconds: number): Promise<LoadOutcome> {
    return runLoad(t.url, seconds, {
      okMarker: '"completeLesson"',
      setupRequest: (req, exhaust) => {
        const pair = c.pairs.take();
        if (!pair) {
          exhaust();
          req.body = FILLER;
          return req;
        }
        req.headers = c.headers[pair.learner];
        req.body = c.bodies[pair.lesson];
        return req;
      },
    });
}

const boardSubscribers: Scenario = {
  name: 'board-subscribers',
  unit: 'request',
  query: `${COMPLETE} with ${BOARD_SUBSCRIBERS} x ${BOARD_SUBSCRIPTION}`,
  notApplicable: () => null,
  async seed(t) {
    t.subsComplete = await seedCompletions(t, 'bench-subs-course', 'bench-subs-learner');
    // Each subscriber its own connection and learner: dashboards of different learners.
    const { createClient } = await import(join(t.dir, 'node_modules/graphql-ws/dist/client.js'));
    const { default: WebSocket } = await import(join(t.dir, 'node_modules/ws/wrapper.mjs'));
    const watch = { clients: [] as { dispose(): Promise<void> }[], messages: 0, errors: [] as string[] };
    t.boardWatch = watch;
    const firsts = await Promise.all(
      Array.from({ length: BOARD_SUBSCRIBERS }, (_, i) => {
        const client = createClient({
          url: t.url.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: false,
          onNonLazyError: (e: unknown) => watch.errors.push(String((e as { code?: number }).code ?? e)),
          connectionParams: { authorization: `Bearer ${signHs256(t.env.jwtSecret, `bench-watcher-${i}`)}` },
        });
        watch.clients.push(client);
        return new Promise<void>((resolveFirst) => {
          client.subscribe(
            { query: BOARD_SUBSCRIPTION },
            {
              next: (v: { errors?: unknown[] }) => {
                if (v.errors) watch.errors.push(JSON.stringify(v.errors).slice(0, 200));
                watch.messages += 1;
                resolveFirst();
              },
              error: (e: unknown) => {
                watch.errors.push(JSON.stringify(e).slice(0, 200));
                resolveFirst();
              },
              complete: () => undefined,
            },
          );
        });
      }),
    );
    void firsts;
    if (watch.errors.length) throw new Error(`subscribers refused: ${watch.errors.slice(0, 3).join('; ')}`);
  },
  check: (t) => checkCompletion(t, t.subsComplete!),
  load: (t, seconds) => loadCompletions(t, t.subsComplete!, seconds),
};

const leaderboardTop10: Scenario = {
  name: 'leaderboard-top10',
  unit: 'request',
  query: TOP10,
  notApplicable: () => null,
  seed: seedTop,
  async check(t) {
    const data = await gql<{ leaderboard: { totalCount: number; entries: unknown[] } }>(t.url, null, TOP10);
    if (data.leaderboard.entries.length !== 10 || data.leaderboard.totalCount < TOP_LEARNERS) {
      throw new Error(`leaderboard answered ${JSON.stringify(data).slice(0, 300)}`);
    }
  },
  load: (t, seconds) => runLoad(t.url, seconds, { okMarker: '"leaderboard"', body: JSON.stringify({ query: TOP10 }) }),
};

const myRank: Scenario = {
  name: 'my-rank',
  unit: 'request',
  query: MY_RANK,
  notApplicable: () => null,
  seed: seedRank,
  async check(t) {
    const tokens = t.rankTokens!;
    for (const token of [tokens[0]!, tokens[tokens.length - 1]!]) {
      const data = await gql<{ me: { rank: { rank: number } | null }; leaderboard: { aroundMe: unknown[] } }>(t.url, token, MY_RANK);
      if (!data.me.rank || data.leaderboard.aroundMe.length === 0) throw new Error(`my-rank answered ${JSON.stringify(data).slice(0, 300)}`);
    }
  },
  load(t, seconds) {
    const tokens = t.rankTokens!;
    let next = 0;
    return runLoad(t.url, seconds, {
      okMarker: '"me"',
      body: JSON.stringify({ query: MY_RANK }),
      // Each connection is one learner (autocannon clones the request per connection).
      setupClient: (client) => client.setHeaders({ ...JSON_HEADERS, authorization: `Bearer ${tokens[next++ % tokens.length]}` }),
    });
  },
};

const EVENT_COURSE = 'bench-events';

const recordEvents: Scenario = {
  name: 'recordEvents',
  unit: 'event',
  query: RECORD,
  notApplicable: (t) => (t.recordEvents?.present ? null : `no Mutation.recordEvents (${t.recordEvents?.how ?? 'not detected'})`),
  async seed(t) {
    const lessonIds = await upsertCourse(t, EVENT_COURSE, 20, 100);
    const learnerIds = Array.from({ length: EVENT_LEARNERS }, (_, i) => `bench-ev-${i}`);
    await mutateMany(t, t.service, learnerIds.map((id) => enrollField(EVENT_COURSE, id)));
    t.events = { pairs: new PairSource(EVENT_LEARNERS, lessonIds.length), learnerIds, lessonIds, seq: 0 };
  },
  async check(t) {
    const body = nextEventBatch(t);
    if (!body) throw new Error('no fresh (learner, lesson) pair left');
    const res = await fetch(t.url, { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${t.service}` }, body });
    const reply = (await res.json()) as GqlResponse<{ recordEvents: { accepted: number } }>;
    if (reply.data?.recordEvents?.accepted !== EVENT_BATCH) throw new Error(`recordEvents answered ${JSON.stringify(reply).slice(0, 300)}`);
  },
  load(t, seconds) {
    return runLoad(t.url, seconds, {
      okMarker: '"recordEvents"',
      headers: { authorization: `Bearer ${t.service}` },
      setupRequest: (req, exhaust) => {
        const body = nextEventBatch(t);
        if (!body) {
          exhaust();
          req.body = FILLER;
          return req;
        }
        req.body = body;
        return req;
      },
      unitsOf: (body, out) => {
        const r = (JSON.parse(body) as GqlResponse<{ recordEvents: { accepted: number; duplicates: number; rejected: { code: string }[] } }>).data?.recordEvents;
        if (!r) return 0;
        out.rejectedEvents += r.rejected.length;
        for (const { code } of r.rejected) out.errorCodes[`rejected:${code}`] = (out.errorCodes[`rejected:${code}`] ?? 0) + 1;
        return r.accepted + r.duplicates + r.rejected.length;
      },
    });
  },
};

/** The next batch of EVENT_BATCH LESSON_COMPLETED events on fresh pairs (lesson-major: one batch spans many learners), or null. */
function nextEventBatch(t: Target): string | null {
  const ev = t.events!;
  if (ev.pairs.left < EVENT_BATCH) return null;
  const occurredAt = new Date().toISOString();
  const events = Array.from({ length: EVENT_BATCH }, () => {
    const pair = ev.pairs.take()!;
    ev.seq += 1;
    return { id: `bench-ev-${ev.seq}`, type: 'LESSON_COMPLETED', occurredAt, learnerId: ev.learnerIds[pair.learner], lessonId: ev.lessonIds[pair.lesson] };
  });
  return JSON.stringify({ query: RECORD, variables: { events } });
}

const SCENARIO_BY_NAME: Record<ScenarioName, Scenario> = {
  completeLesson,
  'leaderboard-top10': leaderboardTop10,
  'my-rank': myRank,
  recordEvents,
  'board-subscribers': boardSubscribers,
};

// --- Measuring ------------------------------------------------------------------------------

interface WindowMetrics {
  round: number;
  seconds: number;
  requests: number;
  ok: number;
  units: number;
  requestsPerSecond: number;
  unitsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  errors: { total: number; non2xx: number; graphql: number; rejectedEvents: number; connErrors: number; timeouts: number; codes: Record<string, number>; samples: string[] };
  cpu: { serverSeconds: number | null; serverPercent: number | null; usPerUnit: number | null; loadGeneratorPercent: number };
  redis: {
    /** Commands (all but INFO) during the window, every client's. */
    commandsRaw: number;
    /** Command rate of other clients (every server frozen) before the warm-up and after the window, and their mean; null without probes. */
    otherPerSecond: number | null;
    otherProbes: [number, number] | null;
    commands: number;
    perUnit: number;
    /** Commands per unit by command, top ten (uncorrected). */
    top: Record<string, number>;
    /** Redis CPU per unit, every client's (INFO cpu). */
    cpuUsPerUnit: number;
  };
  exhausted: boolean;
  /** The server's resident memory at the end of the window (MB). */
  rssMb: number | null;
  /** board-subscribers: messages all subscribers received per second during the window. */
  subscriberMessagesPerSecond: number | null;
}

/** VmRSS of a process in MB, or null. */
function rssMbOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

let redis: Redis | null = null;

/** Sum of commandstats calls, INFO (the bench's own probes) left out. */
function commandTotal(calls: Map<string, number>): number {
  let total = 0;
  for (const [name, n] of calls) if (name !== 'info') total += n;
  return total;
}

/** Let `active` run and freeze every other server (null: let all run). */
function focus(targets: Target[], active: Target | null): void {
  for (const t of targets) {
    if (!t.server) continue;
    if (active === null || t === active) t.server.resume();
    else t.server.pause();
  }
}

/** Redis commands per second from other clients: every server frozen for QUIET_MS. */
async function otherCommandRate(targets: Target[]): Promise<number | null> {
  if (QUIET_MS === 0) return null;
  for (const t of targets) t.server?.pause();
  await sleep(250); // blocking reads the servers had in flight time out (the flusher blocks 100 ms)
  const before = commandTotal(await redisCommandCalls(redis!));
  const t0 = performance.now();
  await sleep(QUIET_MS);
  const after = commandTotal(await redisCommandCalls(redis!));
  return (after - before) / ((performance.now() - t0) / 1000);
}

async function measure(targets: Target[], t: Target, sc: Scenario, roundNo: number): Promise<WindowMetrics> {
  const otherBefore = await otherCommandRate(targets);
  focus(targets, t);
  if (WARMUP > 0) {
    const warm = await sc.load(t, WARMUP);
    if (warm.gqlErrors || warm.result.non2xx) log(`${t.label}: warm-up had ${warm.gqlErrors} GraphQL errors, ${warm.result.non2xx} non-2xx`);
  }
  const pid = t.server!.pid!;
  const calls0 = await redisCommandCalls(redis!);
  const redisCpu0 = await redisCpuSeconds(redis!);
  const cpu0 = procCpuSeconds(pid);
  const gen0 = process.cpuUsage();
  const messages0 = t.boardWatch?.messages ?? null;
  const t0 = performance.now();
  const out = await sc.load(t, DURATION);
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = procCpuSeconds(pid);
  const rssMb = rssMbOf(pid);
  const subscriberMessagesPerSecond = sc.name === 'board-subscribers' && messages0 !== null ? round((t.boardWatch!.messages - messages0) / wall) : null;
  const gen = process.cpuUsage(gen0);
  const calls1 = await redisCommandCalls(redis!);
  const redisCpu1 = await redisCpuSeconds(redis!);
  if (!t.server!.running) throw new Error(`${t.label}: server exited during the window:\n${t.server!.lastLines.join('\n')}`);

  const { result } = out;
  const requests = result.requests.total;
  const units = sc.unit === 'request' ? requests : out.units;
  const per = (n: number) => (units > 0 ? n / units : 0);
  const serverSeconds = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
  const raw = commandTotal(calls1) - commandTotal(calls0);
  const otherAfter = await otherCommandRate(targets);
  const other = otherBefore === null || otherAfter === null ? null : (otherBefore + otherAfter) / 2;
  const commands = other === null ? raw : Math.max(0, raw - other * wall);
  const byCommand = [...calls1].map(([name, n]) => [name, n - (calls0.get(name) ?? 0)] as const).filter(([name, n]) => n > 0 && name !== 'info');
  byCommand.sort((a, b) => b[1] - a[1]);
  const errors = {
    non2xx: result.non2xx,
    graphql: out.gqlErrors,
    rejectedEvents: out.rejectedEvents,
    connErrors: result.errors,
    timeouts: result.timeouts,
  };
  return {
    round: roundNo,
    seconds: result.duration,
    requests,
    ok: out.ok,
    units,
    requestsPerSecond: round(requests / result.duration),
    unitsPerSecond: round(units / result.duration),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, mean: round(result.latency.mean, 2), max: result.latency.max },
    errors: { total: Object.values(errors).reduce((a, b) => a + b, 0), ...errors, codes: out.errorCodes, samples: out.errorSamples },
    cpu: {
      serverSeconds: serverSeconds === null ? null : round(serverSeconds, 2),
      serverPercent: serverSeconds === null ? null : round((serverSeconds / wall) * 100),
      usPerUnit: serverSeconds === null ? null : round(per(serverSeconds * 1e6), 1),
      loadGeneratorPercent: round(((gen.user + gen.system) / 1e6 / wall) * 100),
    },
    redis: {
      commandsRaw: raw,
      otherPerSecond: other === null ? null : round(other),
      otherProbes: otherBefore === null || otherAfter === null ? null : [round(otherBefore), round(otherAfter)],
      commands: Math.round(commands),
      perUnit: round(per(commands), 2),
      top: Object.fromEntries(byCommand.slice(0, 10).map(([name, n]) => [name, round(per(n), 3)])),
      cpuUsPerUnit: round(per((redisCpu1 - redisCpu0) * 1e6), 1),
    },
    exhausted: out.exhausted,
    rssMb,
    subscriberMessagesPerSecond,
  };
}

// --- Reporting ------------------------------------------------------------------------------

interface Summary {
  requestsPerSecond: number;
  unitsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  cpuUsPerUnit: number | null;
  redisPerUnit: number;
  otherPerSecond: number | null;
  rssMb: number | null;
  subscriberMessagesPerSecond: number | null;
}

interface CheckoutScenario {
  status: 'ok' | 'n/a' | 'failed';
  reason?: string;
  windows: WindowMetrics[];
  median?: Summary;
}

const summarize = (w: WindowMetrics): Summary => ({
  requestsPerSecond: w.requestsPerSecond,
  unitsPerSecond: w.unitsPerSecond,
  p50: w.latencyMs.p50,
  p99: w.latencyMs.p99,
  errors: w.errors.total,
  cpuUsPerUnit: w.cpu.usPerUnit,
  redisPerUnit: w.redis.perUnit,
  otherPerSecond: w.redis.otherPerSecond,
  rssMb: w.rssMb,
  subscriberMessagesPerSecond: w.subscriberMessagesPerSecond,
});

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function medianSummary(windows: WindowMetrics[]): Summary | undefined {
  if (!windows.length) return undefined;
  const rows = windows.map(summarize);
  const med = (pick: (s: Summary) => number | null): number | null => {
    const vals = rows.map(pick).filter((v): v is number => v !== null);
    return vals.length ? round(median(vals), 2) : null;
  };
  return {
    requestsPerSecond: med((s) => s.requestsPerSecond)!,
    unitsPerSecond: med((s) => s.unitsPerSecond)!,
    p50: med((s) => s.p50)!,
    p99: med((s) => s.p99)!,
    errors: med((s) => s.errors)!,
    cpuUsPerUnit: med((s) => s.cpuUsPerUnit),
    redisPerUnit: med((s) => s.redisPerUnit)!,
    otherPerSecond: med((s) => s.otherPerSecond),
    rssMb: med((s) => s.rssMb),
    subscriberMessagesPerSecond: med((s) => s.subscriberMessagesPerSecond),
  };
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a == null || b == null || b === 0 ? null : round(a / b, 3));

/** CPU per unit of `row` over `base`, round by round (windows of one round ran seconds apart). */
function pairedCpuRatios(row: CheckoutScenario, base: CheckoutScenario): (number | null)[] {
  return row.windows.map((w) => ratio(w.cpu.usPerUnit, base.windows.find((b) => b.round === w.round)?.cpu.usPerUnit));
}

function printTable(sc: Scenario, targets: Target[], rows: Record<string, CheckoutScenario>): void {
  const ev = sc.unit === 'event';
  const u = ev ? 'ev' : 'req';
  const probes = QUIET_MS > 0;
  const subs = sc.name === 'board-subscribers';
  const head = ['checkout', 'round', 'req/s', ...(ev ? ['ev/s'] : []), 'p50 ms', 'p99 ms', 'errors', `CPU µs/${u}`, `Redis cmd/${u}`, ...(probes ? ['other cmd/s'] : []), 'RSS MB', ...(subs ? ['sub msg/s'] : [])];
  const lines: string[][] = [];
  const notes: string[] = [];
  const fmt = (n: number | null | undefined, digits = 1) => (n == null ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  const line = (label: string, r: string, s: Summary) =>
    lines.push([label, r, fmt(s.requestsPerSecond, 0), ...(ev ? [fmt(s.unitsPerSecond, 0)] : []), fmt(s.p50, 0), fmt(s.p99, 0), fmt(s.errors, 0), fmt(s.cpuUsPerUnit), fmt(s.redisPerUnit, 2), ...(probes ? [fmt(s.otherPerSecond, 0)] : []), fmt(s.rssMb, 0), ...(subs ? [fmt(s.subscriberMessagesPerSecond, 0)] : [])]);
  for (const t of targets) {
    const row = rows[t.label]!;
    if (row.status !== 'ok') {
      lines.push([t.label, row.status === 'n/a' ? 'n/a' : 'FAILED', row.reason ?? '']);
      continue;
    }
    for (const w of row.windows) line(t.label, `${w.round}${w.exhausted ? '*' : ''}`, summarize(w));
    if (row.median && row.windows.length > 1) line(t.label, 'median', row.median);
  }
  const base = rows[targets[0]!.label]!;
  for (const t of targets.slice(1)) {
    const row = rows[t.label]!;
    if (base.median && row.median) {
      const r = (pick: (s: Summary) => number | null) => {
        const v = ratio(pick(row.median!), pick(base.median!));
        return v === null ? '-' : `${v.toFixed(2)}x`;
      };
      lines.push([`${t.label}/${targets[0]!.label}`, '', r((s) => s.requestsPerSecond), ...(ev ? [r((s) => s.unitsPerSecond)] : []), '', '', '', r((s) => s.cpuUsPerUnit), r((s) => s.redisPerUnit), ...(probes ? [''] : []), r((s) => s.rssMb), ...(subs ? [''] : [])]);
      const paired = pairedCpuRatios(row, base);
      if (paired.length > 1) notes.push(`${t.label}/${targets[0]!.label} CPU per ${sc.unit}, round by round: ${paired.map((v) => (v === null ? '-' : `${v.toFixed(2)}x`)).join(' ')}`);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.length === head.length).map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells.length === head.length ? cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') : `${cells[0]!.padEnd(widths[0]!)}  ${cells.slice(1).join('  ')}`;
  const desc = `${CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up, ${ROUNDS} round(s)${ev ? `, batches of ${EVENT_BATCH} events` : ''}`;
  console.log(`\n${sc.name} (${desc})`);
  console.log(render(head));
  for (const l of lines) console.log(render(l));
  for (const n of notes) console.log(n);
  if (Object.values(rows).some((r) => r.windows.some((w) => w.exhausted))) console.log('* ran out of fresh (learner, lesson) pairs: the window stopped early');
}

// --- Main -----------------------------------------------------------------------------------

let targets: Target[] = [];
/** Set on SIGINT/SIGTERM (runMain cleans up): stop at the next step instead of measuring dead servers. */
let aborting = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (aborting = true));
function checkAbort(): void {
  if (aborting) throw new Error('interrupted');
}

let privateRedis: ChildProcess | null = null;

/** A redis-server of our own (no persistence, like the shared one here), so commandstats counts only our servers. */
async function startPrivateRedis(): Promise<string> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  privateRedis = child;
  let spawnError: Error | null = null;
  child.once('error', (err) => (spawnError = err));
  process.on('exit', () => child.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
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
  log(`private redis-server on ${url} (pid ${child.pid})`);
  return url;
}

async function main(): Promise<void> {
  const cli = parseCli();
  targets = cli.targets;
  const startedAt = new Date();
  const loadAtStart = loadavg();
  log(`checkouts: ${targets.map((t) => `${t.label}=${t.dir}`).join(', ')} (baseline ${targets[0]!.label}); scenarios: ${cli.scenarios.join(', ')}`);
  log(`${ROUNDS} round(s) of ${WARMUP} s warm-up + ${DURATION} s at ${CONNECTIONS} connections`);

  if (PRIVATE_REDIS) {
    const url = await startPrivateRedis();
    for (const t of targets) t.env.redisUrl = url;
  }
  redis = new Redis(targets[0]!.env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', (err) => log(`redis: ${err.message}`));
  for (const t of targets) {
    focus(targets, null);
    await startTarget(t);
  }

  const results: Record<string, { unit: string; query: string; checkouts: Record<string, CheckoutScenario>; ratios: Record<string, unknown> }> = {};
  for (const name of cli.scenarios) {
    const sc = SCENARIO_BY_NAME[name];
    const rows: Record<string, CheckoutScenario> = {};
    for (const t of targets) {
      const na = sc.notApplicable(t);
      if (na) {
        rows[t.label] = { status: 'n/a', reason: na, windows: [] };
        log(`${name} / ${t.label}: n/a: ${na}`);
        continue;
      }
      try {
        checkAbort();
        if (!t.server?.running) throw new Error('the server is not running');
        focus(targets, t);
        const t0 = Date.now();
        await sc.seed(t);
        await waitIdle(t);
        await sc.check(t);
        rows[t.label] = { status: 'ok', windows: [] };
        log(`${name} / ${t.label}: seeded in ${Date.now() - t0} ms`);
      } catch (err) {
        if (aborting) throw err;
        rows[t.label] = { status: 'failed', reason: (err as Error).message, windows: [] };
        log(`${name} / ${t.label}: FAILED before measuring: ${(err as Error).message}`);
      }
    }
    for (let r = 1; r <= ROUNDS; r += 1) {
      for (const t of targets) {
        const row = rows[t.label]!;
        if (row.status !== 'ok') continue;
        try {
          checkAbort();
          if (!t.server?.running) throw new Error('the server is not running');
          const w = await measure(targets, t, sc, r);
          row.windows.push(w);
          log(
            `${name} / ${t.label} round ${r}: ${w.requestsPerSecond} req/s${sc.unit === 'event' ? ` (${w.unitsPerSecond} events/s)` : ''}, ` +
              `p50 ${w.latencyMs.p50} ms, p99 ${w.latencyMs.p99} ms, errors ${w.errors.total}, server ${w.cpu.serverPercent}% ` +
              `= ${w.cpu.usPerUnit} µs/${sc.unit}, Redis ${w.redis.perUnit} cmd/${sc.unit}${w.redis.otherProbes ? ` (other clients ${w.redis.otherProbes.join(' / ')} cmd/s)` : ''}, ` +
              `load generator ${w.cpu.loadGeneratorPercent}%, server RSS ${w.rssMb} MB` +
              `${w.subscriberMessagesPerSecond !== null ? `, subscribers got ${w.subscriberMessagesPerSecond} msg/s` : ''}${w.exhausted ? ', RAN OUT OF PAIRS' : ''}`,
          );
        } catch (err) {
          if (aborting) throw err;
          row.status = 'failed';
          row.reason = (err as Error).message;
          log(`${name} / ${t.label} round ${r}: FAILED: ${(err as Error).message}`);
        }
      }
    }
    focus(targets, null);
    for (const t of targets) rows[t.label]!.median = medianSummary(rows[t.label]!.windows);
    const base = rows[targets[0]!.label]!;
    const ratios = Object.fromEntries(
      targets.slice(1).map((t) => {
        const m = rows[t.label]!.median;
        return [
          `${t.label}/${targets[0]!.label}`,
          {
            cpuPerUnit: ratio(m?.cpuUsPerUnit, base.median?.cpuUsPerUnit),
            unitsPerSecond: ratio(m?.unitsPerSecond, base.median?.unitsPerSecond),
            requestsPerSecond: ratio(m?.requestsPerSecond, base.median?.requestsPerSecond),
            redisPerUnit: ratio(m?.redisPerUnit, base.median?.redisPerUnit),
            /** CPU per unit, round by round (each against the baseline's window of the same round). */
            cpuPerUnitByRound: pairedCpuRatios(rows[t.label]!, base),
          },
        ];
      }),
    );
    results[name] = { unit: sc.unit, query: sc.query, checkouts: rows, ratios };
    printTable(sc, targets, rows);
  }

  focus(targets, null);
  for (const t of targets) await Promise.all((t.boardWatch?.clients ?? []).map((c) => c.dispose().catch(() => undefined)));
  await Promise.all(
    targets.map(async (t) => {
      if (!t.server) return;
      t.shutdown = await t.server.stop(60_000);
      log(`${t.label}: server exited with code ${t.shutdown.code}${t.shutdown.signal ? ` (${t.shutdown.signal})` : ''} after ${t.shutdown.ms} ms`);
    }),
  );

  const report = {
    benchmark: 'compare',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { node: process.version, platform: process.platform, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg() },
    config: {
      durationS: DURATION,
      warmupS: WARMUP,
      rounds: ROUNDS,
      connections: CONNECTIONS,
      learners: LEARNERS,
      rankLearners: RANK_LEARNERS,
      topLearners: TOP_LEARNERS,
      topLessons: TOP_LESSONS,
      eventLearners: EVENT_LEARNERS,
      eventBatch: EVENT_BATCH,
      quietMs: QUIET_MS,
      partitions: PARTITIONS,
      idleServers: 'frozen with SIGSTOP while another checkout is under load',
      redis: PRIVATE_REDIS ? `private redis-server (${targets[0]!.env.redisUrl})` : `shared ${targets[0]!.env.redisUrl}`,
    },
    baseline: targets[0]!.label,
    checkouts: targets.map((t) => ({ label: t.label, dir: t.dir, git: t.git, recordEvents: t.recordEvents, shutdown: t.shutdown ?? null })),
    scenarios: results,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `compare-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  const failed = Object.entries(results).flatMap(([name, r]) => Object.entries(r.checkouts).filter(([, c]) => c.status === 'failed').map(([label]) => `${name}/${label}`));
  if (failed.length) throw new Error(`failed: ${failed.join(', ')}`);
}

runMain(main, async () => {
  redis?.disconnect();
  await Promise.all(
    targets.map(async (t) => {
      if (t.server?.running) {
        log(`${t.label}: stopping the server`);
        await t.server.stop(30_000);
      }
    }),
  );
  for (const t of targets) {
    try {
      await destroyBenchEnv(t.env);
    } catch (err) {
      log(`${t.label}: clean-up of ${t.env.databaseUrl} / ${t.env.keyPrefix} failed: ${(err as Error).message}`);
    }
  }
  if (targets.length) log('cleaned up databases and keys');
  if (privateRedis?.pid !== undefined && privateRedis.exitCode === null && privateRedis.signalCode === null) {
    const exited = new Promise((r) => privateRedis!.once('exit', r));
    privateRedis.kill('SIGTERM');
    await exited;
    log('stopped the private redis-server');
  }
});
