/**
 * Bench helpers that import nothing from src/: an isolated Postgres database and Redis key prefix
 * per run (never the default `lms` database or `lms:` prefix) and their clean-up, the server as a
 * child process, HS256 tokens, /proc and Redis readings, env parsing and result output.
 *
 * bench/compare.ts runs against other checkouts of the project (older commits, a rewrite), so it
 * and this file must keep working whatever src/ becomes: keep src/ imports out of here (they
 * belong in lib.ts, which re-exports everything below).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

/** The repository root (bench/..) of the checkout the bench itself runs from. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const PG_BASE = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A benchmark run's own database and key prefix. */
export interface BenchEnv {
  id: string;
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  /** A random HS256 secret (>= 32 characters). */
  jwtSecret: string;
}

export function newBenchEnv(): BenchEnv {
  const id = randomBytes(6).toString('hex');
  return {
    id,
    databaseUrl: `${PG_BASE.replace(/\/+$/, '')}/lms_bench_${id}`,
    redisUrl: REDIS_URL,
    keyPrefix: `bench:${id}:`,
    jwtSecret: `bench-${randomBytes(24).toString('hex')}`,
  };
}

/** SCAN + UNLINK every key matching `pattern`; returns how many were removed. */
async function deleteKeys(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Drop a database (connections to it are terminated), through the `postgres` maintenance database. */
async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

/** Remove the run's Redis keys and drop its database. Safe to call twice. */
export async function destroyBenchEnv(env: BenchEnv): Promise<void> {
  const dbName = new URL(env.databaseUrl).pathname.slice(1);
  // Belt and braces: never touch the service's own data.
  if (!dbName.startsWith('lms_bench_') || !env.keyPrefix.startsWith('bench:')) {
    throw new Error(`Refusing to clean up ${dbName} / ${env.keyPrefix}: not a benchmark environment`);
  }
  const redis = new Redis(env.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await deleteKeys(redis, `${env.keyPrefix}*`);
  } finally {
    redis.disconnect();
  }
  await dropDatabase(env.databaseUrl);
}

/** Run `fn` against a pg client on the run's database. */
async function withPg<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Row counts of the tables the flusher writes. */
export async function tableCounts(databaseUrl: string): Promise<Record<string, number>> {
  const tables = ['learners', 'enrollments', 'lesson_progress', 'xp_transactions', 'badge_awards'] as const;
  return withPg(databaseUrl, async (client) => {
    const out: Record<string, number> = {};
    for (const t of tables) {
      const res = await client.query<{ n: string }>(`select count(*)::bigint as n from ${t}`);
      out[t] = Number(res.rows[0]?.n ?? 0);
    }
    return out;
  });
}

/** An integer from the environment, or `fallback`. @throws on a malformed value */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min} (got "${raw}")`);
  return n;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The contract's CourseInput (../shared/contract/schema.graphql), as the benches send it. */
interface BenchCourseInput {
  id: string;
  title: string;
  description: string | null;
  modules: {
    id: string;
    title: string;
    lessons: { id: string; title: string; kind: 'VIDEO' | 'READING' | 'CHALLENGE'; durationSeconds: number; xpReward: number }[];
    quizzes: { id: string; title: string; passScore: number; xpReward: number }[];
  }[];
}

/**
 * One course of `modules` x `lessonsPerModule` lessons, each paying `xp`; lesson ids
 * `<id>-l<n>` numbered 1.. across the course.
 */
export function bigCourse(id: string, modules: number, lessonsPerModule: number, xp: number): { input: BenchCourseInput; lessonIds: string[] } {
  const lessonIds: string[] = [];
  const input: BenchCourseInput = {
    id,
    title: `Benchmark course ${id}`,
    description: null,
    modules: Array.from({ length: modules }, (_, m) => ({
      id: `${id}-m${m + 1}`,
      title: `Module ${m + 1}`,
      lessons: Array.from({ length: lessonsPerModule }, () => {
        const n = lessonIds.length + 1;
        const lessonId = `${id}-l${n}`;
        lessonIds.push(lessonId);
        return {
          id: lessonId,
          title: `Lesson ${n}`,
          kind: (['VIDEO', 'READING', 'CHALLENGE'] as const)[n % 3]!,
          durationSeconds: 300,
          xpReward: xp,
        };
      }),
      quizzes: [],
    })),
  };
  return { input, lessonIds };
}

/**
 * Create (or replace) `bigCourse(id, modules, lessonsPerModule, xp)` through the API's
 * upsertCourse, as `adminToken`; returns its lesson ids. @throws when the server reports another lesson count
 */
export async function upsertBigCourse(url: string, adminToken: string, id: string, modules: number, lessonsPerModule: number, xp: number): Promise<string[]> {
  const { input, lessonIds } = bigCourse(id, modules, lessonsPerModule, xp);
  const data = await gql<{ upsertCourse: { lessonCount: number } }>(
    url,
    adminToken,
    'mutation($input: CourseInput!) { upsertCourse(input: $input) { id lessonCount } }',
    { input },
  );
  if (data.upsertCourse.lessonCount !== lessonIds.length) throw new Error(`course ${id} has ${data.upsertCourse.lessonCount} lessons, expected ${lessonIds.length}`);
  return lessonIds;
}

/** Hands out (learner, lesson) index pairs, each once, lesson-major (lesson 0 for every learner, then lesson 1, ...). */
export class PairSource {
  next = 0;
  constructor(
    readonly learners: number,
    readonly lessons: number,
  ) {}

  get size(): number {
    return this.learners * this.lessons;
  }

  get left(): number {
    return this.size - this.next;
  }

  take(): { learner: number; lesson: number } | null {
    if (this.next >= this.size) return null;
    const i = this.next++;
    return { learner: i % this.learners, lesson: Math.floor(i / this.learners) };
  }
}

/** Run `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

let clockTicks: number | null = null;
/** Clock ticks per second of /proc/<pid>/stat times (getconf CLK_TCK; 100 on Linux). */
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc; null off Linux or once it is gone. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (in clock ticks).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/**
 * CPU seconds used by every live process named `postgres` on this machine (the server, its
 * backends and background workers), from /proc; null off Linux. Backends that exit between two
 * readings drop out, and other clients' work counts too: treat it as a rough figure.
 */
export function postgresCpuSeconds(): number | null {
  let total = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue;
    }
    const cpu = procCpuSeconds(Number(entry));
    if (cpu !== null) {
      total += cpu;
      found = true;
    }
  }
  return found ? total : null;
}

/** CPU seconds Redis has used (INFO cpu). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/**
 * Calls per command since Redis started (INFO commandstats; commands run inside Lua scripts count
 * too). It is server-wide: every client's commands are in it.
 */
export async function redisCommandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(m[1]!, Number(m[2]));
  return calls;
}

/** Base64url of a string or buffer (RFC 7515). */
const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/**
 * An HS256 JWT for `sub` with `roles`, `iat` and `exp` (`ttlSeconds` from now), signed with
 * node:crypto: the benches sign their own tokens rather than import the server's code.
 */
export function signHs256(secret: string, sub: string, roles: string[] = [], ttlSeconds = 12 * 3600): string {
  const iat = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ roles, sub, iat, exp: iat + ttlSeconds }));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

export interface GqlResponse<T> {
  data?: T | null;
  errors?: GqlError[];
}

/** POST one GraphQL operation and return its data. @throws on HTTP or GraphQL errors */
export async function gql<T>(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await res.text();
  let body: GqlResponse<T>;
  try {
    body = JSON.parse(text) as GqlResponse<T>;
  } catch {
    throw new Error(`GraphQL request failed (${res.status}): ${text.slice(0, 300)}`);
  }
  if (!res.ok || body.errors?.length || !body.data) {
    throw new Error(`GraphQL request failed (${res.status}): ${JSON.stringify(body.errors ?? body).slice(0, 500)}`);
  }
  return body.data;
}

/** The completeLesson mutation the benches send, with the fields a client would ask for. */
export const COMPLETE = `mutation Complete($lessonId: ID!) {
  completeLesson(lessonId: $lessonId) {
    lessonId xpAwarded totalXp level leveledUp
    badgesUnlocked { badge { id name } }
    enrollment { xpEarned progress { completedLessons percentage } }
  }
}`;

/** Sent once fresh pairs run out, while the load generator stops; not counted as a success. */
export const FILLER = JSON.stringify({ query: '{ __typename }' });

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Write a result where bench/run.ts asked for it (BENCH_RESULT_FILE), if it did. */
export function emitResult(result: unknown): void {
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result, null, 2));
}

export const log = (...parts: unknown[]): void => console.error('[bench]', ...parts);

/**
 * Run a benchmark's main with clean-up on success, failure and Ctrl-C (SIGINT) or SIGTERM.
 * `cleanup` must be idempotent; it runs at most once. A second signal while it runs is ignored
 * (with a note), so an impatient Ctrl-C cannot leave databases behind.
 */
export function runMain(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  let cleaned: Promise<void> | null = null;
  const clean = () => (cleaned ??= cleanup().catch((err) => log('clean-up failed:', (err as Error).message)));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log(`${signal}: still cleaning up, please wait`);
      return;
    }
    signalled = true;
    log(`${signal}: cleaning up`);
    void clean().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main().then(
    async () => {
      await clean();
      process.exit(0);
    },
    async (err) => {
      // After a signal, main fails because clean-up stopped the servers under it: not news.
      if (signalled) log(`stopped: ${(err as Error).message}`);
      else console.error(err);
      await clean();
      process.exit(1);
    },
  );
}

interface ServerStartOptions {
  /** The checkout to run (`node --import tsx src/main.ts` in it). */
  cwd: string;
  /** Added to this process's environment. */
  env: Record<string, string>;
  /** Prefix of the server's log lines on our stderr. */
  label?: string;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  killed: boolean;
}

/** A server under test, as a child process. Every one still running is SIGKILLed when this process exits. */
export class ServerProcess {
  private static readonly live = new Set<ServerProcess>();
  private static exitHookInstalled = false;

  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly tail: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private isPaused = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly label: string,
  ) {
    ServerProcess.live.add(this);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        ServerProcess.live.delete(this);
        resolve(this.exitInfo);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 50) this.tail.shift();
        console.error(`[${label}] ${line}`);
      });
    }
  }

  static start(options: ServerStartOptions): ServerProcess {
    if (!ServerProcess.exitHookInstalled) {
      ServerProcess.exitHookInstalled = true;
      // Last resort (uncaught errors, process.exit before clean-up): never leave a server behind.
      process.on('exit', () => {
        for (const s of ServerProcess.live) s.killNow();
      });
    }
    // node --import tsx (not npx tsx): one process, so SIGTERM, the exit code and /proc/<pid> are the server's own.
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ServerProcess(child, options.label ?? 'server');
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the server printed. */
  get lastLines(): string[] {
    return [...this.tail];
  }

  /** Freeze the process (SIGSTOP): it runs no code and sends nothing until resume(). */
  pause(): void {
    if (!this.running || this.isPaused) return;
    this.child.kill('SIGSTOP');
    this.isPaused = true;
  }

  /** Let a paused process run again (SIGCONT). */
  resume(): void {
    if (!this.running || !this.isPaused) return;
    this.child.kill('SIGCONT');
    this.isPaused = false;
  }

  /** Poll /health until it answers 200. @throws when the server exits or does not come up */
  async waitHealthy(base: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.label}: server exited during start-up (${JSON.stringify(this.exitInfo)}):\n${this.tail.join('\n')}`);
      try {
        const res = await fetch(`${base}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`${this.label}: server did not answer /health within ${timeoutMs} ms`);
  }

  /** SIGTERM (after SIGCONT if paused), then wait; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 120_000): Promise<ServerExit> {
    const started = Date.now();
    if (!this.running) return { ...this.exitInfo!, ms: 0, killed: false };
    this.resume();
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.child.kill('SIGKILL');
      const info = await this.exited;
      return { ...info, ms: Date.now() - started, killed: true };
    }
    return { ...outcome, ms: Date.now() - started, killed: false };
  }

  /** Synchronous SIGCONT + SIGKILL (for process 'exit'). */
  killNow(): void {
    if (!this.running) return;
    try {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Where and how a bench starts one server under test. */
export interface BenchServer {
  /** The checkout to run. */
  cwd: string;
  /** Prefix of the server's log lines on our stderr. */
  label: string;
  port: number;
  /** The run's database, Redis, key prefix and JWT secret. */
  env: BenchEnv;
  partitions: number;
  /** Where BENCH_CPU_PROF=1 has the server write its V8 CPU profile on exit (open it in Chrome DevTools). */
  profDir: string;
  /** Added to (and overriding) the standard variables. */
  extraEnv?: Record<string, string>;
}

/**
 * Start a server the way every bench does: NODE_ENV=production on 127.0.0.1:`port`, the run's
 * database, Redis, key prefix and JWT secret, `partitions` outbox partitions, no demo catalog,
 * LOG_LEVEL=warn, plus `extraEnv`; with --cpu-prof into `profDir` when BENCH_CPU_PROF=1.
 */
export function startBenchServer(s: BenchServer): ServerProcess {
  return ServerProcess.start({
    cwd: s.cwd,
    label: s.label,
    env: {
      NODE_ENV: 'production',
      PORT: String(s.port),
      HOST: '127.0.0.1',
      DATABASE_URL: s.env.databaseUrl,
      REDIS_URL: s.env.redisUrl,
      KEY_PREFIX: s.env.keyPrefix,
      PARTITIONS: String(s.partitions),
      DEMO_CATALOG: 'false',
      LOG_LEVEL: 'warn',
      JWT_SECRET: s.env.jwtSecret,
      // A bench drives a few learners far past any learner's budget: it measures the work, not the
      // limiter (BENCH_ENV_<label>=RATE_LIMITS=true measures it on; an older checkout ignores it).
      RATE_LIMITS: 'false',
      ...s.extraEnv,
    },
    nodeArgs: process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${s.profDir}`] : [],
  });
}
