/**
 * Test harness: every test file gets its own Postgres database and Redis key prefix, so files
 * run in parallel against the one real Redis and Postgres without seeing each other.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { buildApp, type App, type AppOptions } from '../src/app';
import { loadConfig, type Config } from '../src/config';
import { signToken } from '../src/domain/auth/tokens';
import type { Role } from '../src/domain/auth/viewer';
import type { CourseInput } from '../src/domain/catalog/input';
import { createLogger } from '../src/logger';
import { readEntries, type OutboxEntry } from '../src/store/outbox/entry';
import { createRedis, deleteMatching } from '../src/store/redis/client';
import type { ScriptedClient } from '../src/store/redis/scripts';
import { dropDatabase } from '../src/store/pg/orm';

export const TEST_SECRET = 'test-secret-0123456789-0123456789-abcdef';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Run every suite against a Redis Cluster: its nodes, comma-separated (scripts/test-cluster.sh sets it). */
const REDIS_CLUSTER_NODES = process.env.TEST_REDIS_CLUSTER_NODES?.trim() || null;
const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A database and key prefix of one's own. */
export interface TestEnv {
  databaseUrl: string;
  keyPrefix: string;
  redisUrl: string;
  /** Comma-separated cluster nodes (REDIS_CLUSTER_NODES) when the suite runs on a cluster, else null. */
  redisClusterNodes: string | null;
}

export function newTestEnv(): TestEnv {
  const id = randomUUID().replace(/-/g, '').slice(0, 12);
  return { databaseUrl: `${PG_BASE}/lms_test_${id}`, keyPrefix: `test:${id}:`, redisUrl: REDIS_URL, redisClusterNodes: REDIS_CLUSTER_NODES };
}

/** A connection to the test Redis (the cluster when TEST_REDIS_CLUSTER_NODES is set), scripts defined, not yet connected. */
export function testRedis(): ScriptedClient {
  return createRedis(REDIS_CLUSTER_NODES ? { clusterNodes: REDIS_CLUSTER_NODES.split(',') } : REDIS_URL);
}

/** The Redis variables of a test env, for `loadConfig` or a child process's environment. */
export function redisEnvOf(env: TestEnv): { REDIS_URL: string; REDIS_CLUSTER_NODES: string } {
  // An empty REDIS_CLUSTER_NODES reads as unset.
  return { REDIS_URL: env.redisUrl, REDIS_CLUSTER_NODES: env.redisClusterNodes ?? '' };
}

/** The config a test server runs with; `env` entries override. */
export function testConfig(env: TestEnv, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    ...redisEnvOf(env),
    DATABASE_URL: env.databaseUrl,
    KEY_PREFIX: env.keyPrefix,
    JWT_SECRET: TEST_SECRET,
    PARTITIONS: '16',
    FLUSH_INTERVAL_MS: '20',
    DEMO_CATALOG: 'false',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
}

export interface GqlResult<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string; [k: string]: unknown } }[];
}

export interface TestApp {
  app: App;
  env: TestEnv;
  port: number;
  url: string;
  wsUrl: string;
  /** Run an operation in-process through yoga.fetch. */
  gql<T = Record<string, any>>(query: string, options?: { variables?: Record<string, unknown>; token?: string }): Promise<GqlResult<T>>;
  /** Run an operation as a learner (with a fresh learner token). */
  as<T = Record<string, any>>(learnerId: string, query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>>;
  stop(): Promise<void>;
}

/** Build and start a server (HTTP, WebSocket and flusher) on a free loopback port. */
export async function startTestApp(env: TestEnv, options: { config?: Record<string, string>; app?: AppOptions } = {}): Promise<TestApp> {
  const config = testConfig(env, options.config);
  const app = await buildApp(config, { logger: createLogger(config.logLevel), boardFeedIntervalMs: 250, ...options.app });
  // A suite meant for the cluster must not pass on a single node by accident.
  if (env.redisClusterNodes && !app.redis.isCluster) throw new Error('TEST_REDIS_CLUSTER_NODES is set but the app is not on a cluster');
  let port: number;
  try {
    port = await app.start(0);
  } catch (err) {
    await app.stop().catch(() => undefined);
    throw err;
  }
  const t: TestApp = {
    app,
    env,
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    async gql(query, { variables, token } = {}) {
      const res = await app.yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as GqlResult<any>;
    },
    async as(learnerId, query, variables) {
      return t.gql(query, { variables, token: await tokenFor(learnerId) });
    },
    stop: () => app.stop(),
  };
  return t;
}

/** Remove a test env's keys (on the cluster too, when there is one) and database. */
export async function destroyTestEnv(env: TestEnv): Promise<void> {
  const redis = new Redis(env.redisUrl);
  try {
    await deleteMatching(redis, `${env.keyPrefix}*`);
  } finally {
    redis.disconnect();
  }
  if (env.redisClusterNodes) {
    const cluster = createRedis({ clusterNodes: env.redisClusterNodes.split(',') });
    try {
      await deleteMatching(cluster, `${env.keyPrefix}*`);
    } finally {
      cluster.disconnect();
    }
  }
  await dropDatabase(env.databaseUrl);
}

/** A free TCP port on the loopback interface (for a server started outside startTestApp). */
/** Whether a Redis answers PING on 127.0.0.1:`port` (a private redis-server a test started or stopped). */
export async function redisAnswers(port: number): Promise<boolean> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Every entry in the app's outbox (all partitions, XRANGE - +), partition by partition, oldest first in each. */
export async function outboxEntries(app: App): Promise<OutboxEntry[]> {
  const out: OutboxEntry[] = [];
  for (const p of app.keys.allPartitions()) {
    const stream = app.keys.outbox(p);
    out.push(...readEntries(stream, p, (await app.redis.xrange(stream, '-', '+')) as [string, string[]][]).entries);
  }
  return out;
}

/** A token for a learner, signed with the test secret. */
export function tokenFor(learnerId: string, roles: Role[] = [], options: { expiresIn?: string | number; nowMs?: number } = {}): Promise<string> {
  return signToken(learnerId, { secret: TEST_SECRET, roles, ...options });
}

let courseSeq = 0;

/**
 * A course for tests: `modules` modules of `lessons` lessons each, paying `xp` per lesson
 * (or `xpOf(index)`), with lesson ids `<id>-l<n>` numbered across the course.
 */
export function makeCourse(over: { id?: string; modules?: number; lessons?: number; xp?: number; xpOf?: (i: number) => number; quizzes?: number } = {}): CourseInput {
  const id = over.id ?? `course-${++courseSeq}`;
  let n = 0;
  return {
    id,
    title: `Course ${id}`,
    description: null,
    modules: Array.from({ length: over.modules ?? 2 }, (_, m) => ({
      id: `${id}-m${m + 1}`,
      title: `Module ${m + 1}`,
      lessons: Array.from({ length: over.lessons ?? 3 }, () => {
        const i = n++;
        return {
          id: `${id}-l${i + 1}`,
          title: `Lesson ${i + 1}`,
          kind: (['VIDEO', 'READING', 'CHALLENGE'] as const)[i % 3]!,
          durationSeconds: 300,
          xpReward: over.xpOf ? over.xpOf(i) : (over.xp ?? 50),
        };
      }),
      quizzes: Array.from({ length: over.quizzes ?? 0 }, (_, q) => ({ id: `${id}-m${m + 1}-q${q + 1}`, title: `Quiz ${q + 1}`, passScore: 70, xpReward: 40 })),
    })),
  };
}

/** Wait until `check` returns a truthy value (polling), or fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A live subscription over graphql-ws, collecting what arrives. */
export interface LiveSubscription<T = Record<string, any>> {
  values: T[];
  /** When each value arrived (ms). */
  times: number[];
  errors: unknown[];
  /** Wait until at least `n` values arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
  close(): Promise<void>;
}

/** Subscribe with a fresh graphql-ws client (no retries), token in connectionParams. */
export async function subscribe<T = Record<string, any>>(
  wsUrl: string,
  query: string,
  options: { variables?: Record<string, unknown>; token?: string } = {},
): Promise<LiveSubscription<T>> {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const values: T[] = [];
  const times: number[] = [];
  const errors: unknown[] = [];
  let ack!: () => void;
  const connected = new Promise<void>((r) => (ack = r));
  client.on('connected', () => ack());
  const dispose = client.subscribe<T>(
    { query, variables: options.variables },
    {
      next: (v) => {
        if (v.errors) errors.push(...v.errors);
        if (v.data) {
          values.push(v.data as T);
          times.push(Date.now());
        }
      },
      error: (e) => errors.push(e),
      complete: () => undefined,
    },
  );
  await Promise.race([connected, new Promise((_, reject) => setTimeout(() => reject(new Error('graphql-ws did not connect')), 5000))]);
  return {
    values,
    times,
    errors,
    waitFor: (n, timeoutMs = 5000) => eventually(() => (values.length >= n ? values : null), timeoutMs, `${n} subscription values (have ${values.length}, errors ${JSON.stringify(errors)})`),
    async close() {
      dispose();
      await client.dispose();
    },
  };
}
