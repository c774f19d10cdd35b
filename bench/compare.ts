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
 *   record-events-mix  like recordEvents, but each batch mixes the kinds the checkout accepts
 *                      (probed with one event of each contract kind; UNSUPPORTED_EVENT_TYPE and the
 *                      like are reported, never sent in the window), weighted as in EVENT_KINDS:
 *                      today 67 LESSON_COMPLETED (fresh pairs) + 33 QUIZ_ATTEMPTED per 100, over
 *                      BENCH_MIX_LEARNERS learners of a 20 x 100-lesson course with a quiz per module.
 *                      n/a without recordEvents or without LESSON_COMPLETED and QUIZ_ATTEMPTED.
 *   dashboard-light    the full dashboard `me` query (DASHBOARD_FIELDS: the issue 7 fields, plus each
 *   dashboard-heavy    later one every checkout serves; probed field by field, a core field the schema
 *                      lacks makes the scenario n/a) with the learner's own token at
 *                      BENCH_DASHBOARD_CONNECTIONS connections. Catalog: 10 courses of 4 x 12 lessons
 *                      with 1-2 quizzes (15 in all) and a few badges. dashboard-light: a learner with 1
 *                      enrollment and nothing else. dashboard-heavy: 10 enrollments and 500 activities
 *                      (400 LESSON_COMPLETED + 100 QUIZ_ATTEMPTED, 6-7 rising scores per quiz, over the
 *                      last 60 days, through recordEvents in batches of BENCH_EVENT_BATCH), plus
 *                      BENCH_DASHBOARD_OTHER_EVENTS events of other kinds when the checkout accepts any.
 *                      With both run, heavy / light ratios (p50, p99, CPU per request) are printed
 *                      against the 1.5x goal. They run last: their badges would tax the others.
 * A scenario may ask every checkout whether it applies (prepare) before any is seeded.
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
 *                                   my-rank, recordEvents, board-subscribers, record-events-mix,
 *                                   dashboard-light, dashboard-heavy)
 * Env:  BENCH_DURATION (s, 10)  BENCH_WARMUP (s, 2)  BENCH_ROUNDS (2)  BENCH_CONNECTIONS (32)
 *       BENCH_LEARNERS (200)  BENCH_RANK_LEARNERS (1000)  BENCH_EVENT_LEARNERS (1000)
 *       BENCH_EVENT_BATCH (100)  BENCH_BOARD_SUBSCRIBERS (200)  BENCH_MIX_LEARNERS (1000)
 *       BENCH_DASHBOARD_CONNECTIONS (8)  BENCH_DASHBOARD_OTHER_EVENTS (100)
 *       BENCH_DASHBOARD_FIELDS (comma-separated DASHBOARD_FIELDS names: only those, e.g. id,quizAttempts
 *       to see what one field costs; default all)
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
const MIX_LEARNERS = envInt('BENCH_MIX_LEARNERS', 1000);
const DASH_CONNECTIONS = envInt('BENCH_DASHBOARD_CONNECTIONS', 8);
const DASH_OTHER_EVENTS = envInt('BENCH_DASHBOARD_OTHER_EVENTS', 100, 0);
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

// The dashboard scenarios come last: their badges and courses would change what the others measure.
const SCENARIOS = ['completeLesson', 'leaderboard-top10', 'my-rank', 'recordEvents', 'board-subscribers', 'record-events-mix', 'dashboard-light', 'dashboard-heavy'] as const;
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
  /** record-events-mix: where events go, what the checkout accepts, one batch's kinds in order. */
  mix?: { targets: EventTargets; support: KindSupport; kinds: (typeof EVENT_KINDS)[number][]; seq: number; k: number };
  /** dashboard-*: which fields the checkout serves, the event kinds it accepts, the catalog, response sizes. */
  dash?: {
    applicable: boolean;
    reason: string | null;
    fields: Record<string, string>;
    support: KindSupport;
    courses: ReturnType<typeof quizCourse>[];
    heavyEvents?: string;
    bytes?: Record<string, number>;
  };
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
  /** Connections (default BENCH_CONNECTIONS). */
  connections?: number;
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
        connections: spec.connections ?? CONNECTIONS,
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
  /** Connections of its load (default BENCH_CONNECTIONS). */
  connections?: number;
  /** Why the scenario does not apply to a checkout, or null. */
  notApplicable(t: Target): string | null;
  /** Asks the server (before any checkout is seeded) whether the scenario applies: why not, or null. */
  prepare?(t: Target): Promise<string | null>;
  /** Lines printed under the table (what was measured). */
  notes?(targets: Target[]): string[];
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
  load: (t, seconds) => loadEventBatches(t, seconds, () => nextEventBatch(t)),
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

// --- Event kinds (record-events-mix, the dashboard's heavy learner) ---------------------------

/** Validation errors: the schema does not have the field (or a sub-field, argument or input field of the operation). */
const SCHEMA_LACKS = /Cannot query field|Unknown argument|Unknown type|must have a selection|must not have a selection|is not defined by type|Field "[^"]+" of required type/;

/** gql, retried (up to 4 times, 1 s apart) while the server answers 503 (a busy shared machine can time out its Redis commands). */
async function gqlRetry<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await gql<T>(url, token, query, variables);
    } catch (err) {
      if (attempt >= 4 || !/\(503\)|UNAVAILABLE/.test((err as Error).message)) throw err;
      log(`503 from the server while seeding; retrying in 1 s (${attempt}/3)`);
      await sleep(1000);
    }
  }
}

/** POST one operation and parse the reply, retried like gqlRetry while the server answers 503. */
async function postRetry<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; body: GqlResponse<T> }> {
  for (let attempt = 1; ; attempt += 1) {
    const res = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json().catch(() => ({}))) as GqlResponse<T>;
    if (res.status !== 503 || attempt >= 4) return { status: res.status, body };
    log(`503 from the server while probing; retrying in 1 s (${attempt}/3)`);
    await sleep(1000);
  }
}

/** A course the schema cannot take (an old CourseInput without quizzes): the reason; any other failure throws. */
async function courseNotAccepted(create: () => Promise<void>): Promise<string | null> {
  try {
    await create();
    return null;
  } catch (err) {
    const message = (err as Error).message;
    if (SCHEMA_LACKS.test(message)) return `cannot create a course with quizzes: ${message.slice(0, 200)}`;
    throw err;
  }
}

/** Where an event of a kind takes its payload from. */
interface EventTargets {
  learnerIds: string[];
  lessonIds: string[];
  quizIds: string[];
  /** Fresh (learner, lesson) pairs for kinds that complete a lesson once. */
  pairs: PairSource;
}

/**
 * The contract's event kinds (LearningEventType), each with a mix weight and a payload builder.
 * `fresh`: the kind completes a lesson, so it takes a fresh (learner, lesson) pair (null when none is left);
 * others take learner `k` and a lesson or quiz by rotation. A kind is used only when the checkout
 * accepts it (probeEventKinds); add a kind here when the server learns one.
 */
const EVENT_KINDS: { type: string; weight: number; build: (s: EventTargets, k: number) => Record<string, unknown> | null }[] = [
  { type: 'LESSON_COMPLETED', weight: 40, build: (s) => freshLesson(s) },
  { type: 'QUIZ_ATTEMPTED', weight: 20, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length], quizId: s.quizIds[(k * 7) % s.quizIds.length], score: 30 + ((k * 37) % 71) }) },
  { type: 'VIDEO_PROGRESS', weight: 15, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length], lessonId: s.lessonIds[(k * 13) % s.lessonIds.length], watchedSeconds: 60 }) },
  { type: 'LESSON_ACCESSED', weight: 10, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length], lessonId: s.lessonIds[(k * 11) % s.lessonIds.length] }) },
  { type: 'VIDEO_STARTED', weight: 5, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length], lessonId: s.lessonIds[(k * 17) % s.lessonIds.length] }) },
  { type: 'VIDEO_COMPLETED', weight: 5, build: (s) => freshLesson(s) },
  { type: 'DAILY_LOGIN', weight: 3, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length] }) },
  { type: 'GOAL_SET', weight: 2, build: (s, k) => ({ learnerId: s.learnerIds[k % s.learnerIds.length], goalKind: 'LESSONS', target: 1 + (k % 5) }) },
];

function freshLesson(s: EventTargets): Record<string, unknown> | null {
  const pair = s.pairs.take();
  return pair ? { learnerId: s.learnerIds[pair.learner], lessonId: s.lessonIds[pair.lesson] } : null;
}

/** What a checkout does with one event of each kind: 'accepted', or why not (UNSUPPORTED_EVENT_TYPE, another rejection code, a GraphQL error). */
type KindSupport = Record<string, string>;

/**
 * Send one event of each kind of EVENT_KINDS (one request each, so an enum value an old schema
 * lacks spoils only its own probe) for `learnerId`, enrolled where `s` points; lessons from the
 * end of `s.lessonIds`, so the measured pairs stay fresh.
 */
async function probeEventKinds(t: Target, learnerId: string, s: EventTargets): Promise<KindSupport> {
  const probe: EventTargets = { learnerIds: [learnerId], lessonIds: s.lessonIds.slice(-EVENT_KINDS.length), quizIds: s.quizIds, pairs: new PairSource(1, EVENT_KINDS.length) };
  const out: KindSupport = {};
  for (const [i, kind] of EVENT_KINDS.entries()) {
    const payload = kind.build(probe, i)!;
    const event = { id: `bench-probe-${learnerId}-${kind.type}`, type: kind.type, occurredAt: new Date().toISOString(), ...payload, learnerId };
    const { status, body } = await postRetry<{ recordEvents: { accepted: number; duplicates: number; rejected: { code: string }[] } }>(t.url, t.service, RECORD, { events: [event] });
    const r = body.data?.recordEvents;
    if (r && r.accepted + r.duplicates === 1) out[kind.type] = 'accepted';
    else if (r?.rejected.length) out[kind.type] = r.rejected[0]!.code;
    else out[kind.type] = `error: ${(body.errors ?? []).map((e) => e.extensions?.code ?? e.message).join('; ').slice(0, 120) || `HTTP ${status}`}`;
  }
  return out;
}

const supportedKinds = (support: KindSupport) => EVENT_KINDS.filter((k) => support[k.type] === 'accepted');
const describeSupport = (support: KindSupport) =>
  Object.entries(support)
    .filter(([, v]) => v !== 'accepted')
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** `n` events of `kinds` in proportion to their weights (largest remainder), interleaved (smooth weighted round robin). */
function kindSequence(kinds: typeof EVENT_KINDS, n: number): (typeof EVENT_KINDS)[number][] {
  const total = kinds.reduce((a, k) => a + k.weight, 0);
  const current = kinds.map(() => 0);
  const seq: (typeof EVENT_KINDS)[number][] = [];
  for (let i = 0; i < n; i += 1) {
    let best = 0;
    kinds.forEach((k, j) => {
      current[j]! += k.weight;
      if (current[j]! > current[best]!) best = j;
    });
    current[best]! -= total;
    seq.push(kinds[best]!);
  }
  return seq;
}

/** A course of `modules` x `lessonsPerModule` lessons (XP 10) with quizzes in the modules `quizModules` lists (pass 70, XP 50). */
function quizCourse(id: string, modules: number, lessonsPerModule: number, quizModules: number[]) {
  const lessonIds: string[] = [];
  const quizIds: string[][] = [];
  const input = {
    id,
    title: `Benchmark course ${id}`,
    description: null,
    modules: Array.from({ length: modules }, (_, m) => {
      const lessons = Array.from({ length: lessonsPerModule }, () => {
        const n = lessonIds.length + 1;
        lessonIds.push(`${id}-l${n}`);
        return { id: `${id}-l${n}`, title: `Lesson ${n}`, kind: (['VIDEO', 'READING', 'CHALLENGE'] as const)[n % 3]!, durationSeconds: 300, xpReward: XP };
      });
      const quizzes = quizModules.includes(m) ? [{ id: `${id}-m${m + 1}-q1`, title: `Quiz ${m + 1}`, passScore: 70, xpReward: 50 }] : [];
      quizIds.push(quizzes.map((q) => q.id));
      return { id: `${id}-m${m + 1}`, title: `Module ${m + 1}`, lessons, quizzes };
    }),
  };
  return { input, lessonIds, quizIds };
}

async function upsertQuizCourse(t: Target, c: ReturnType<typeof quizCourse>): Promise<void> {
  const data = await gqlRetry<{ upsertCourse: { lessonCount: number; quizCount: number } }>(
    t.url,
    t.admin,
    'mutation($input: CourseInput!) { upsertCourse(input: $input) { id lessonCount quizCount } }',
    { input: c.input },
  );
  const quizzes = c.quizIds.flat().length;
  if (data.upsertCourse.lessonCount !== c.lessonIds.length || data.upsertCourse.quizCount !== quizzes) {
    throw new Error(`course ${c.input.id} has ${data.upsertCourse.lessonCount} lessons and ${data.upsertCourse.quizCount} quizzes, expected ${c.lessonIds.length} and ${quizzes}`);
  }
}

/** Send events in batches of `batch` (in order, one request at a time) as the service. @throws unless every event is accepted */
async function recordAll(t: Target, events: Record<string, unknown>[], batch: number): Promise<void> {
  for (let i = 0; i < events.length; i += batch) {
    // A retry after a 503 sends the same event ids: idempotent.
    const data = await gqlRetry<{ recordEvents: { accepted: number; duplicates: number; rejected: { index: number; code: string }[] } }>(t.url, t.service, RECORD, { events: events.slice(i, i + batch) });
    const r = data.recordEvents;
    if (r.rejected.length || r.accepted + r.duplicates !== Math.min(batch, events.length - i)) throw new Error(`recordEvents refused seeding events: ${JSON.stringify(r).slice(0, 300)}`);
  }
}

// --- record-events-mix -----------------------------------------------------------------------

const MIX_COURSE = 'bench-mix';

const recordEventsMix: Scenario = {
  name: 'record-events-mix',
  unit: 'event',
  query: RECORD,
  notApplicable: (t) => (t.recordEvents?.present ? null : `no Mutation.recordEvents (${t.recordEvents?.how ?? 'not detected'})`),
  async prepare(t) {
    // 20 modules x 100 lessons, a quiz in every module.
    const course = quizCourse(MIX_COURSE, 20, 100, Array.from({ length: 20 }, (_, m) => m));
    const refused = await courseNotAccepted(() => upsertQuizCourse(t, course));
    if (refused) return refused;
    const learnerIds = Array.from({ length: MIX_LEARNERS }, (_, i) => `bench-mix-${i}`);
    const s: EventTargets = { learnerIds, lessonIds: course.lessonIds, quizIds: course.quizIds.flat(), pairs: new PairSource(MIX_LEARNERS, course.lessonIds.length - EVENT_KINDS.length) };
    await mutateMany(t, t.service, [enrollField(MIX_COURSE, 'bench-mix-probe')]);
    const support = await probeEventKinds(t, 'bench-mix-probe', s);
    const kinds = supportedKinds(support);
    t.mix = { targets: s, support, kinds: kindSequence(kinds, EVENT_BATCH), seq: 0, k: 0 };
    log(`${t.label}: record-events-mix kinds: ${kinds.map((k) => k.type).join(', ') || 'none'}; not used: ${describeSupport(support) || 'none'}`);
    const missing = ['LESSON_COMPLETED', 'QUIZ_ATTEMPTED'].filter((k) => support[k] !== 'accepted');
    return missing.length ? `needs LESSON_COMPLETED and QUIZ_ATTEMPTED: ${missing.map((k) => `${k} ${support[k]}`).join(', ')}` : null;
  },
  async seed(t) {
    await mutateMany(t, t.service, t.mix!.targets.learnerIds.map((id) => enrollField(MIX_COURSE, id)));
  },
  async check(t) {
    const body = nextMixBatch(t);
    if (!body) throw new Error('no fresh (learner, lesson) pair left');
    const res = await fetch(t.url, { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${t.service}` }, body });
    const reply = (await res.json()) as GqlResponse<{ recordEvents: { accepted: number } }>;
    if (reply.data?.recordEvents?.accepted !== EVENT_BATCH) throw new Error(`recordEvents answered ${JSON.stringify(reply).slice(0, 300)}`);
  },
  load: (t, seconds) => loadEventBatches(t, seconds, () => nextMixBatch(t)),
  notes(targets) {
    return targets
      .filter((t) => t.mix)
      .map((t) => {
        const counts = new Map<string, number>();
        for (const k of t.mix!.kinds) counts.set(k.type, (counts.get(k.type) ?? 0) + 1);
        return `${t.label}: each batch ${[...counts].map(([k, n]) => `${n} ${k}`).join(' + ')} across ${MIX_LEARNERS} learners; not used: ${describeSupport(t.mix!.support) || 'none'}`;
      });
  },
};

/** The next mixed batch of EVENT_BATCH events (fresh lesson pairs, quiz attempts and the other kinds over many learners), or null. */
function nextMixBatch(t: Target): string | null {
  const mix = t.mix!;
  const occurredAt = new Date().toISOString();
  const events: Record<string, unknown>[] = [];
  for (const kind of mix.kinds) {
    const payload = kind.build(mix.targets, (mix.k += 1));
    if (!payload) return null;
    mix.seq += 1;
    events.push({ id: `bench-mix-${mix.seq}`, type: kind.type, occurredAt, ...payload });
  }
  return JSON.stringify({ query: RECORD, variables: { events } });
}

function loadEventBatches(t: Target, seconds: number, next: () => string | null): Promise<LoadOutcome> {
  return runLoad(t.url, seconds, {
    okMarker: '"recordEvents"',
    headers: { authorization: `Bearer ${t.service}` },
    setupRequest: (req, exhaust) => {
      const body = next();
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
}

// --- dashboard-light / dashboard-heavy ------------------------------------------------------

/**
 * The dashboard `me` query, field by field. `core` fields are the dashboard (issue 7): a checkout
 * whose schema lacks one is n/a. The others are later features: each is included when every
 * checkout of the run serves it, so all checkouts answer the same query (BENCH_DASHBOARD_FIELDS
 * picks fields by name). Add a field here when the server learns one.
 */
const today = new Date();
const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const DASHBOARD_FIELDS: { name: string; selection: string; core?: boolean }[] = [
  { name: 'id', selection: 'id', core: true },
  { name: 'totalXp', selection: 'totalXp', core: true },
  { name: 'level', selection: 'level { level name minXp nextLevelXp progress }', core: true },
  {
    name: 'enrollments',
    selection:
      'enrollments { id enrolledAt completedAt xpEarned course { id title lessonCount quizCount } progress { percentage completionRate completedLessons totalLessons passedQuizzes totalQuizzes watchTimeSeconds } }',
    core: true,
  },
  { name: 'badges', selection: 'badges { badge { id name } awardedAt }', core: true },
  { name: 'quizAttempts', selection: 'quizAttempts { id quizId score attemptNumber passed attemptedAt }', core: true },
  { name: 'topicMastery', selection: 'topicMastery { moduleId title lessonCompletionRate averageQuizScore mastery }', core: true },
  { name: 'xpHistory', selection: 'xpHistory(first: 20) { edges { cursor node { id amount reason sourceId occurredAt } } pageInfo { hasNextPage endCursor } }', core: true },
  { name: 'rank', selection: 'rank { rank score }', core: true },
  // Later features.
  { name: 'streak', selection: 'streak { current longest lastActiveDate activeToday freezesAvailable }' },
  {
    name: 'stats',
    selection:
      'stats { totalWatchTimeSeconds videosCompleted lessonsCompleted quizzesTaken quizzesPassed averageQuizScore activeDays sessions totalTimeSeconds coursesEnrolled coursesCompleted completionRate }',
  },
  { name: 'activityCalendar', selection: `activityCalendar(from: "${isoDay(new Date(today.getTime() - 89 * 86_400_000))}", to: "${isoDay(today)}") { date xp events timeSpentSeconds }` },
  { name: 'recentActivity', selection: 'recentActivity(first: 20) { edges { cursor node { id type description occurredAt xp } } pageInfo { hasNextPage endCursor } }' },
  { name: 'certificates', selection: 'certificates { id code issuedAt course { id title } }' },
  { name: 'lessonProgress', selection: 'lessonProgress(first: 20) { totalCount edges { cursor node { lessonId courseId completed completedAt watchTimeSeconds updatedAt } } pageInfo { hasNextPage endCursor } }' },
  { name: 'dailyGoals', selection: 'dailyGoals { kind date target current completed }' },
  { name: 'badgeProgress', selection: 'badgeProgress(first: 5) { badge { id name } current target progress }' },
];

const DASHBOARD_PICK = (process.env.BENCH_DASHBOARD_FIELDS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
{
  const unknown = DASHBOARD_PICK.filter((n) => !DASHBOARD_FIELDS.some((f) => f.name === n));
  if (unknown.length) throw new Error(`BENCH_DASHBOARD_FIELDS: unknown field(s) ${unknown.join(', ')}; known: ${DASHBOARD_FIELDS.map((f) => f.name).join(', ')}`);
}
const dashboardCandidates = DASHBOARD_PICK.length ? DASHBOARD_FIELDS.filter((f) => DASHBOARD_PICK.includes(f.name)) : DASHBOARD_FIELDS;


/** Which candidate fields a checkout serves: 'ok', 'absent: <why>' or 'error: <code>' (served, but answers an error). */
async function probeDashboardFields(t: Target, token: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of dashboardCandidates) {
    const { status, body } = await postRetry<unknown>(t.url, token, `{ me { ${f.selection} } }`);
    const errors = body.errors ?? [];
    if (!errors.length && body.data) out[f.name] = 'ok';
    else if (errors.some((e) => SCHEMA_LACKS.test(e.message))) out[f.name] = `absent: ${errors.find((e) => SCHEMA_LACKS.test(e.message))!.message.slice(0, 150)}`;
    else out[f.name] = `error: ${errors.map((e) => e.extensions?.code ?? e.message.slice(0, 80)).join('; ') || `HTTP ${status}`}`;
  }
  return out;
}

let dashboardQueryCache: { query: string; fields: string[]; left: string[] } | null = null;

/** The one dashboard query of the run: the core fields and every later field that all applicable checkouts serve. */
function dashboardQuery(): { query: string; fields: string[]; left: string[] } {
  if (dashboardQueryCache) return dashboardQueryCache;
  const probed = targets.filter((t) => t.dash?.applicable);
  const fields = dashboardCandidates.filter((f) => f.core || (probed.length > 0 && probed.every((t) => t.dash!.fields[f.name] === 'ok')));
  const left = dashboardCandidates
    .filter((f) => !fields.includes(f))
    .map((f) => `${f.name} (${probed.map((t) => `${t.label}: ${t.dash!.fields[f.name]!.replace(/^absent: .*/, 'absent')}`).join(', ') || 'not probed'})`);
  const query = `query Dashboard {\n  me {\n${fields.map((f) => `    ${f.selection}`).join('\n')}\n  }\n}`;
  dashboardQueryCache = { query, fields: fields.map((f) => f.name), left };
  return dashboardQueryCache;
}

const DASH_COURSES = 10;
const DASH_MODULES = 4;
const DASH_LESSONS_PER_MODULE = 12;
/** Lessons the heavy learner completes in each course (of 48): 400 in all. */
const DASH_COMPLETED_PER_COURSE = 40;
const DASH_ATTEMPTS = 100;
/** Dashboard queries (light and heavy alternately) sent after seeding, before any window. */
const DASH_WARM_REQUESTS = 400;
const DASH_HEAVY = 'bench-dash-heavy';
const DASH_LIGHT = 'bench-dash-light';
/** A few badges the heavy learner earns (criteria the server does not know are skipped). */
const DASH_BADGES = [
  { id: 'bench-dash-xp', name: 'XP 1000', criteria: { type: 'xp_total', value: 1000 } },
  { id: 'bench-dash-lessons', name: '100 lessons', criteria: { type: 'lessons_completed', value: 100 } },
  { id: 'bench-dash-quizzes', name: '5 quizzes passed', criteria: { type: 'quizzes_passed', value: 5 } },
  { id: 'bench-dash-ace', name: 'Score 90', criteria: { type: 'quiz_score', min_score: 90 } },
];

/** The catalog of 10 courses (4 x 12 lessons; a quiz in module 1, and in module 3 of every other course: 15 quizzes). */
const dashCourses = () => Array.from({ length: DASH_COURSES }, (_, c) => quizCourse(`bench-dash-c${c}`, DASH_MODULES, DASH_LESSONS_PER_MODULE, c % 2 ? [0, 2] : [0]));

/** Probe the fields (and event kinds) once per checkout, for both dashboard scenarios. */
async function prepareDashboard(t: Target): Promise<string | null> {
  if (!t.dash) {
    const courses = dashCourses();
    const courseError = await courseNotAccepted(async () => {
      for (const c of courses) await upsertQuizCourse(t, c);
    });
    const probeId = 'bench-dash-probe';
    const fields = await probeDashboardFields(t, signHs256(t.env.jwtSecret, probeId));
    const missing = dashboardCandidates.filter((f) => f.core && fields[f.name]!.startsWith('absent'));
    let support: KindSupport = {};
    if (!courseError && t.recordEvents?.present) {
      const c0 = courses[0]!;
      await mutateMany(t, t.service, [enrollField(c0.input.id, probeId)]);
      support = await probeEventKinds(t, probeId, { learnerIds: [probeId], lessonIds: c0.lessonIds, quizIds: c0.quizIds.flat(), pairs: new PairSource(1, 1) });
    }
    const reason = courseError ?? (missing.length ? `the schema lacks ${missing.map((f) => `me.${f.name} (${fields[f.name]!.slice(8)})`).join('; ')}` : null);
    t.dash = { applicable: reason === null, reason, fields, support, courses };
    log(`${t.label}: dashboard fields: ${Object.entries(fields).map(([k, v]) => `${k} ${v.split(':')[0]}`).join(', ')}`);
  }
  return t.dash.reason;
}

/** Catalog, badges, the light learner (1 enrollment) and the heavy one (10 enrollments, 400 lesson completions, 100 quiz attempts, other kinds the checkout accepts). */
async function seedDashboard(t: Target): Promise<void> {
  if (t.seeded.has('dashboard')) return;
  const d = t.dash!;
  for (const b of DASH_BADGES) {
    try {
      await gql(t.url, t.admin, 'mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }', { i: { ...b, description: null, imageUrl: null, xpReward: 0 } });
    } catch (err) {
      log(`${t.label}: badge ${b.id} skipped: ${(err as Error).message.slice(0, 150)}`);
    }
  }
  await mutateMany(t, t.service, [enrollField(d.courses[0]!.input.id, DASH_LIGHT), ...d.courses.map((c) => enrollField(c.input.id, DASH_HEAVY))]);

  // The heavy learner's history, course by course and module by module: its lessons, then attempts at its quiz.
  const quizzes = d.courses.flatMap((c) => c.quizIds.flat());
  const attemptsOf = (q: number) => Math.floor(DASH_ATTEMPTS / quizzes.length) + (q < DASH_ATTEMPTS % quizzes.length ? 1 : 0);
  const history: { type: string; lessonId?: string; quizId?: string; score?: number }[] = [];
  let q = 0;
  for (const c of d.courses) {
    for (let m = 0; m < DASH_MODULES; m += 1) {
      for (let l = 0; l < DASH_LESSONS_PER_MODULE; l += 1) {
        const n = m * DASH_LESSONS_PER_MODULE + l;
        if (n < DASH_COMPLETED_PER_COURSE) history.push({ type: 'LESSON_COMPLETED', lessonId: c.lessonIds[n]! });
      }
      for (const quizId of c.quizIds[m]!) {
        const n = attemptsOf(q++);
        // Scores rise from 40 to 95 (pass 70): failures, then passes.
        for (let a = 0; a < n; a += 1) history.push({ type: 'QUIZ_ATTEMPTED', quizId, score: 40 + Math.round((55 * a) / Math.max(1, n - 1)) });
      }
    }
  }
  // Other kinds the checkout accepts, on the lessons the learner did not complete (41-48 of each course).
  const others = supportedKinds(d.support).filter((k) => k.type !== 'LESSON_COMPLETED' && k.type !== 'QUIZ_ATTEMPTED');
  const spare = d.courses.flatMap((c) => c.lessonIds.slice(DASH_COMPLETED_PER_COURSE));
  const extra: Record<string, unknown>[] = kindSequence(others, others.length ? DASH_OTHER_EVENTS : 0).map((kind, k) => ({
    type: kind.type,
    ...kind.build({ learnerIds: [DASH_HEAVY], lessonIds: spare, quizIds: quizzes, pairs: new PairSource(1, spare.length) }, k),
  }));
  // Spread over the last 60 days, oldest first; the extra kinds interleaved.
  const all: Record<string, unknown>[] = [...history];
  extra.forEach((e, i) => all.splice(Math.floor(((i + 1) * all.length) / (extra.length + 1)) + i, 0, e));
  const start = Date.now() - 60 * 86_400_000;
  const step = (60 * 86_400_000 - 3_600_000) / all.length;
  const events: Record<string, unknown>[] = all.map((e, i) => ({ id: `bench-dash-${i}`, occurredAt: new Date(start + i * step).toISOString(), ...e, learnerId: DASH_HEAVY }));
  if (t.recordEvents?.present) {
    await recordAll(t, events, EVENT_BATCH);
  } else {
    // No recordEvents: one mutation per event, in order.
    for (const e of events) {
      const field =
        e.type === 'LESSON_COMPLETED'
          ? completeField(e.lessonId as string, DASH_HEAVY)
          : `submitQuizAttempt(quizId: ${lit(e.quizId as string)}, score: ${e.score}, learnerId: ${lit(DASH_HEAVY)}) { xpAwarded }`;
      await gql(t.url, t.service, `mutation { ${field} }`);
    }
  }
  const kinds = new Map<string, number>();
  for (const e of events) kinds.set(e.type as string, (kinds.get(e.type as string) ?? 0) + 1);
  d.heavyEvents = [...kinds].map(([k, n]) => `${n} ${k}`).join(' + ');
  log(`${t.label}: dashboard heavy learner: ${d.heavyEvents} over 60 days (${t.recordEvents?.present ? `recordEvents, batches of ${EVENT_BATCH}` : 'one mutation each'})`);
  // Warm the dashboard path (JIT, pools) for both learners alike, so the first scenario's window does not pay for it alone.
  const { query } = dashboardQuery();
  const tokens = [DASH_LIGHT, DASH_HEAVY].map((id) => signHs256(t.env.jwtSecret, id));
  await pool(DASH_WARM_REQUESTS, DASH_CONNECTIONS, async (i) => {
    await fetch(t.url, { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${tokens[i % 2]}` }, body: JSON.stringify({ query }) }).then((r) => r.text());
  });
  t.seeded.add('dashboard');
}

function dashboardScenario(name: 'dashboard-light' | 'dashboard-heavy', learnerId: string): Scenario {
  const heavy = name === 'dashboard-heavy';
  return {
    name,
    unit: 'request',
    get query() {
      return dashboardQueryCache?.query ?? '(dashboard query: not built)';
    },
    connections: DASH_CONNECTIONS,
    notApplicable: () => null,
    prepare: prepareDashboard,
    seed: seedDashboard,
    async check(t) {
      const { query } = dashboardQuery();
      const res = await fetch(t.url, { method: 'POST', headers: { ...JSON_HEADERS, authorization: `Bearer ${signHs256(t.env.jwtSecret, learnerId)}` }, body: JSON.stringify({ query }) });
      const text = await res.text();
      const body = JSON.parse(text) as GqlResponse<{ me: { enrollments?: { progress: { completedLessons: number } }[]; quizAttempts?: unknown[] } }>;
      if (body.errors?.length || !body.data) throw new Error(`the dashboard query answered ${text.slice(0, 400)}`);
      // The seeded history, as far as the query shows it (BENCH_DASHBOARD_FIELDS may leave fields out).
      const me = body.data.me;
      const want: Record<string, number> = {};
      const got: Record<string, number> = {};
      if (me.enrollments) {
        want.enrollments = heavy ? DASH_COURSES : 1;
        want.lessons = heavy ? DASH_COURSES * DASH_COMPLETED_PER_COURSE : 0;
        got.enrollments = me.enrollments.length;
        got.lessons = me.enrollments.reduce((a, e) => a + e.progress.completedLessons, 0);
      }
      if (me.quizAttempts) {
        want.attempts = heavy ? DASH_ATTEMPTS : 0;
        got.attempts = me.quizAttempts.length;
      }
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${learnerId}: the dashboard shows ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      t.dash!.bytes = { ...t.dash!.bytes, [name]: text.length };
      log(`${t.label}: ${name}: ${learnerId} answers ${text.length} bytes`);
    },
    load(t, seconds) {
      return runLoad(t.url, seconds, {
        okMarker: '"me"',
        body: JSON.stringify({ query: dashboardQuery().query }),
        headers: { authorization: `Bearer ${signHs256(t.env.jwtSecret, learnerId)}` },
        connections: DASH_CONNECTIONS,
      });
    },
    notes(targets) {
      if (!targets.length) return [];
      const { fields, left } = dashboardQuery();
      const lines = [`me fields: ${fields.join(', ')}`];
      if (left.length) lines.push(`left out: ${left.join('; ')}`);
      for (const t of targets.filter((x) => x.dash?.bytes?.[name])) {
        lines.push(`${t.label}: ${learnerId}${heavy ? ` (${t.dash!.heavyEvents ?? '?'})` : ' (1 enrollment, no history)'}; response ${t.dash!.bytes![name]} bytes`);
      }
      return lines;
    },
  };
}

const dashboardLight = dashboardScenario('dashboard-light', DASH_LIGHT);
const dashboardHeavy = dashboardScenario('dashboard-heavy', DASH_HEAVY);

const SCENARIO_BY_NAME: Record<ScenarioName, Scenario> = {
  completeLesson,
  'leaderboard-top10': leaderboardTop10,
  'my-rank': myRank,
  recordEvents,
  'board-subscribers': boardSubscribers,
  'record-events-mix': recordEventsMix,
  'dashboard-light': dashboardLight,
  'dashboard-heavy': dashboardHeavy,
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
  const desc = `${sc.connections ?? CONNECTIONS} connections, ${DURATION} s after ${WARMUP} s warm-up, ${ROUNDS} round(s)${ev ? `, batches of ${EVENT_BATCH} events` : ''}`;
  console.log(`\n${sc.name} (${desc})`);
  console.log(render(head));
  for (const l of lines) console.log(render(l));
  for (const n of notes) console.log(n);
  for (const n of sc.notes?.(targets.filter((t) => rows[t.label]?.status === 'ok')) ?? []) console.log(n);
  if (Object.values(rows).some((r) => r.windows.some((w) => w.exhausted))) console.log('* ran out of fresh (learner, lesson) pairs: the window stopped early');
}

/** With both dashboard scenarios run: heavy over light per checkout (medians of the rounds), printed and returned for the JSON. */
function dashboardRatios(targets: Target[], results: Record<string, { checkouts: Record<string, CheckoutScenario> }>): Record<string, unknown> | null {
  const light = results['dashboard-light'];
  const heavy = results['dashboard-heavy'];
  if (!light || !heavy) return null;
  const out: Record<string, unknown> = {};
  const lines: string[] = [];
  for (const t of targets) {
    const l = light.checkouts[t.label]?.median;
    const h = heavy.checkouts[t.label]?.median;
    if (!l || !h) {
      lines.push(`${t.label}: -`);
      continue;
    }
    const r = { p50: ratio(h.p50, l.p50), p99: ratio(h.p99, l.p99), cpuPerRequest: ratio(h.cpuUsPerUnit, l.cpuUsPerUnit), requestsPerSecond: ratio(h.requestsPerSecond, l.requestsPerSecond), redisPerRequest: ratio(h.redisPerUnit, l.redisPerUnit) };
    out[t.label] = r;
    const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);
    const over = (['p50', 'p99', 'cpuPerRequest'] as const).filter((k) => r[k] !== null && r[k]! > 1.5);
    lines.push(
      `${t.label}: p50 ${x(r.p50)} (${h.p50} / ${l.p50} ms), p99 ${x(r.p99)} (${h.p99} / ${l.p99} ms), CPU/request ${x(r.cpuPerRequest)} (${h.cpuUsPerUnit} / ${l.cpuUsPerUnit} µs), ` +
        `req/s ${x(r.requestsPerSecond)}, Redis cmd/request ${x(r.redisPerRequest)}: ${over.length ? `OVER the 1.5x goal (${over.join(', ')})` : 'within 1.5x'}`,
    );
  }
  console.log('\ndashboard heavy / light (medians; goal: within 1.5x)');
  for (const l of lines) console.log(l);
  return out;
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
    // Every checkout says whether the scenario applies before any is seeded (the dashboard query is the fields all serve).
    for (const t of targets) {
      try {
        checkAbort();
        let na = sc.notApplicable(t);
        if (!na && sc.prepare) {
          if (!t.server?.running) throw new Error('the server is not running');
          focus(targets, t);
          await waitIdle(t); // the previous scenario's write-behind may still be draining
          na = await sc.prepare(t);
        }
        if (na) {
          rows[t.label] = { status: 'n/a', reason: na, windows: [] };
          log(`${name} / ${t.label}: n/a: ${na}`);
        }
      } catch (err) {
        if (aborting) throw err;
        rows[t.label] = { status: 'failed', reason: (err as Error).message, windows: [] };
        log(`${name} / ${t.label}: FAILED before measuring: ${(err as Error).message}`);
      }
    }
    for (const t of targets) {
      if (rows[t.label]) continue;
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
  const heavyVsLight = dashboardRatios(targets, results);

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
    dashboardHeavyVsLight: heavyVsLight,
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
