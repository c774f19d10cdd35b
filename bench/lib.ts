/**
 * Shared helpers of the benchmarks: an isolated Postgres database and Redis key prefix per run
 * (never the default `lms` database or `lms:` prefix), their clean-up, course building, env
 * parsing and result output. Not a benchmark itself.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { CourseInput } from '../src/domain/catalog/input';
import { deleteMatching } from '../src/store/redis/client';
import type { Keys } from '../src/store/redis/keys';
import { dropDatabase } from '../src/store/pg/orm';

/** The repository root (bench/..). */
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
    await deleteMatching(redis, `${env.keyPrefix}*`);
  } finally {
    redis.disconnect();
  }
  await dropDatabase(env.databaseUrl);
}

/** Run `fn` against a pg client on the run's database. */
export async function withPg<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
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

/**
 * One course of `modules` x `lessonsPerModule` lessons, each paying `xp`; lesson ids
 * `<id>-l<n>` numbered 1.. across the course.
 */
export function bigCourse(id: string, modules: number, lessonsPerModule: number, xp: number): { input: CourseInput; lessonIds: string[] } {
  const lessonIds: string[] = [];
  const input: CourseInput = {
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

/**
 * Outbox entries not yet in Postgres: never delivered to the flusher group (lag) plus delivered
 * but not acknowledged (pending). XLEN alone would also count acknowledged entries not trimmed yet.
 */
export async function outboxBacklog(redis: Redis, keys: Keys): Promise<number> {
  const streams = keys.allPartitions().map((p) => keys.outbox(p));
  const pipe = redis.pipeline();
  for (const stream of streams) pipe.xinfo('GROUPS', stream);
  const replies = (await pipe.exec()) ?? [];
  let total = 0;
  for (const [i, [err, groups]] of replies.entries()) {
    if (err) throw err;
    for (const flat of groups as (string | number | null)[][]) {
      const info = new Map<string, string | number | null>();
      for (let j = 0; j + 1 < flat.length; j += 2) info.set(String(flat[j]), flat[j + 1] ?? null);
      if (info.get('name') !== 'flusher') continue;
      const lag = info.get('lag');
      // lag is null when Redis cannot tell (after deletions): count the whole stream then.
      total += Number(info.get('pending') ?? 0) + (lag === null || lag === undefined ? await redis.xlen(streams[i]!) : Number(lag));
    }
  }
  return total;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc; null off Linux. */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (in clock ticks, 100/s on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
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

export const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Write a result where bench/run.ts asked for it (BENCH_RESULT_FILE), if it did. */
export function emitResult(result: unknown): void {
  const file = process.env.BENCH_RESULT_FILE;
  if (file) writeFileSync(file, JSON.stringify(result, null, 2));
}

export const log = (...parts: unknown[]): void => console.error('[bench]', ...parts);

/**
 * Run a benchmark's main with clean-up on success, failure and Ctrl-C.
 * `cleanup` must be idempotent; it runs at most once.
 */
export function runMain(main: () => Promise<void>, cleanup: () => Promise<void>): void {
  let cleaned: Promise<void> | null = null;
  const clean = () => (cleaned ??= cleanup().catch((err) => log('clean-up failed:', (err as Error).message)));
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: cleaning up`);
    void clean().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  main().then(
    async () => {
      await clean();
      process.exit(0);
    },
    async (err) => {
      console.error(err);
      await clean();
      process.exit(1);
    },
  );
}
