/**
 * Fail fast: a store that is frozen (SIGSTOP, or a proxy that stops forwarding) or gone makes a
 * request answer a retryable UNAVAILABLE (HTTP 503, naming the store) within the configured
 * timeouts, `/ready` says which store is down without hanging, and everything works again
 * shortly after the store is back, without a restart. Driver errors are JSON log lines.
 *
 * Runs its own redis-server processes and a pausable TCP proxy in front of the shared Postgres,
 * so it can freeze and kill them; never the shared ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/domain/auth/tokens';
import { dropDatabase, openOrm } from '../src/store/pg/orm';
import { probeRedis } from '../src/store/redis/client';
import { destroyTestEnv, eventually, freePort, makeCourse, newTestEnv, startTestApp, TEST_SECRET, tokenFor, type TestApp, type TestEnv } from './harness';

/** The timeouts the servers here run with, and how much later than them an answer may come. */
const REDIS_COMMAND_TIMEOUT_MS = 1000;
/**
 * A request waits at most two command timeouts: auto-pipelining sends a batch only when the
 * previous one has answered, so a command may wait for the batch before it to time out.
 */
const REDIS_BOUND_MS = 2 * REDIS_COMMAND_TIMEOUT_MS;
const PG_QUERY_TIMEOUT_MS = 1000;
const PG_CONNECT_TIMEOUT_MS = 1000;
const SLACK_MS = 1000;
/** pg's client-side grace after statement_timeout (orm.ts CLIENT_GRACE_MS). */
const PG_BOUND_MS = Math.max(PG_QUERY_TIMEOUT_MS + 500, PG_CONNECT_TIMEOUT_MS);
const TIMEOUTS = {
  REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS),
  REDIS_CONNECT_TIMEOUT_MS: '1000',
  PG_QUERY_TIMEOUT_MS: String(PG_QUERY_TIMEOUT_MS),
  PG_CONNECT_TIMEOUT_MS: String(PG_CONNECT_TIMEOUT_MS),
};

const processes: ChildProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
/** What each scenario measured, printed at the end. */
const figures: Record<string, number> = {};

afterAll(async () => {
  for (const p of processes) {
    if (p.exitCode === null && p.signalCode === null) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  }
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  console.log(`fail-fast figures (ms): ${JSON.stringify(figures)}`);
});

/** A redis-server of this test's own on `port`, answering PING. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  processes.push(child);
  await eventually(() => probeRedis(`redis://127.0.0.1:${port}`, 500).then(() => true), 5000, `redis-server on ${port}`);
  return child;
}

/**
 * A TCP proxy in front of `target` that can stop forwarding (a paused proxy is a frozen
 * server: connections open, nothing answers) and cut every connection.
 */
async function pausableProxy(target: number): Promise<{ port: number; pause(): void; resume(): void; cut(): void; close(): Promise<void> }> {
  let paused = false;
  const pairs = new Set<{ client: Socket; upstream: Socket; held: (() => void)[] }>();
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream, held: [] as (() => void)[] };
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk) => {
        const send = () => to.writable && to.write(chunk);
        if (paused) pair.held.push(send);
        else send();
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    pause: () => void (paused = true),
    resume() {
      paused = false;
      for (const pair of pairs) for (const send of pair.held.splice(0)) send();
    },
    cut() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const pair of pairs) pair.client.destroy();
        server.close(() => r());
      }),
  };
}

/** The env's database reached through `port` (a proxy) instead of Postgres's own. */
function throughPort(env: TestEnv, port: number): TestEnv {
  const url = new URL(env.databaseUrl);
  url.port = String(port);
  return { ...env, databaseUrl: url.toString() };
}

interface Answer {
  status: number;
  ms: number;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** POST an operation over real HTTP and time it. */
async function post(url: string, query: string, token?: string, variables?: Record<string, unknown>): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as Answer['body'];
  return { status: res.status, ms: Date.now() - started, body };
}

/** GET /ready and time it. */
async function ready(base: string): Promise<{ status: number; ms: number; body: Record<string, any> }> {
  const started = Date.now();
  const res = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, ms: Date.now() - started, body: (await res.json()) as Record<string, any> };
}

function expectUnavailable(answer: Answer, reason: 'REDIS_UNAVAILABLE' | 'POSTGRES_UNAVAILABLE', boundMs: number): void {
  expect(answer.body.errors?.[0]?.extensions, JSON.stringify(answer.body)).toEqual({ code: 'UNAVAILABLE', reason });
  expect(answer.body.errors![0]!.message).toMatch(/retry/);
  expect(answer.status).toBe(503);
  expect(answer.ms).toBeLessThan(boundMs);
}

/**
 * Poll /ready every 100 ms until `isDown` holds (for at most 10 s). @returns when it first did,
 * that answer, and the slowest answer's time.
 */
async function pollReady(base: string, isDown: (r: Awaited<ReturnType<typeof ready>>) => boolean) {
  let slowest = 0;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const answer = await ready(base);
    slowest = Math.max(slowest, answer.ms);
    if (isDown(answer)) return { at: Date.now(), answer, slowest };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('/ready never said the store is down');
}

/** Poll until `attempt` answers without errors; @returns how long that took (ms). */
async function timeToRecover(attempt: () => Promise<Answer>, timeoutMs = 10_000): Promise<{ ms: number; answer: Answer }> {
  const started = Date.now();
  const answer = await eventually(async () => {
    const a = await attempt();
    return a.status === 200 && !a.body.errors ? a : null;
  }, timeoutMs, 'requests to succeed again');
  return { ms: Date.now() - started, answer };
}

const COMPLETE = 'mutation($lesson: ID!, $e: ID) { completeLesson(lessonId: $lesson, eventId: $e) { xpAwarded totalXp } }';

const skipOnCluster = !!process.env.TEST_REDIS_CLUSTER_NODES;

describe.skipIf(skipOnCluster)('Redis frozen (SIGSTOP)', () => {
  it('answers UNAVAILABLE within the command timeout over HTTP and WebSocket, /ready says redis is down, and SIGCONT needs no restart', async () => {
    const env = newTestEnv();
    const port = await freePort();
    const redis = await startRedis(port);
    const t: TestApp = await startTestApp({ ...env, redisUrl: `redis://127.0.0.1:${port}` }, { config: TIMEOUTS });
    cleanups.push(async () => {
      redis.kill('SIGCONT');
      await t.app.crash();
      redis.kill('SIGKILL');
      await dropDatabase(env.databaseUrl);
    });
    await t.app.services.catalog.upsertCourse(makeCourse({ id: 'ff', modules: 1, lessons: 2, xp: 30 }));
    const token = await tokenFor('ff-amy');
    expect((await post(t.url, 'mutation { enroll(courseId: "ff") { id } }', token)).body.errors).toBeUndefined();
    const ws = await wsClient(t.wsUrl, token);
    expect((await ws.run('{ me { totalXp } }')).errors).toBeUndefined();

    const base = t.url.replace('/graphql', '');
    redis.kill('SIGSTOP');
    const frozenAt = Date.now();
    const bound = REDIS_BOUND_MS + SLACK_MS;
    // /ready, polled from the moment of the freeze: it never hangs, and says so within the
    // monitor's interval (1 s) plus a command timeout.
    const readyDown = pollReady(base, (r) => r.body.redis === 'down');
    const completion = await post(t.url, COMPLETE, token, { lesson: 'ff-l1', e: 'ff-1' });
    expectUnavailable(completion, 'REDIS_UNAVAILABLE', bound);
    const me = await post(t.url, '{ me { totalXp } }', token);
    expectUnavailable(me, 'REDIS_UNAVAILABLE', bound);
    figures.redisFrozenCompleteLesson = completion.ms;
    figures.redisFrozenMe = me.ms;

    // Over WebSocket the operation errors the same way; the socket stays open.
    const overWs = await ws.run('{ me { totalXp } }', bound);
    expect(overWs.errors?.[0]?.extensions).toMatchObject({ code: 'UNAVAILABLE', reason: 'REDIS_UNAVAILABLE' });

    const down = await readyDown;
    expect(down.slowest).toBeLessThan(bound);
    expect(down.answer.status).toBe(503);
    expect(down.answer.body.postgres).toBe('up');
    figures.redisFrozenReadyDown = down.at - frozenAt;
    expect(down.at - frozenAt).toBeLessThan(1000 + REDIS_COMMAND_TIMEOUT_MS + SLACK_MS);

    redis.kill('SIGCONT');
    const thawedAt = Date.now();
    // The client retries with the same eventId: whether or not the timed-out script ran after
    // all, it is paid once.
    const { ms, answer } = await timeToRecover(() => post(t.url, COMPLETE, token, { lesson: 'ff-l1', e: 'ff-1' }));
    figures.redisFrozenRecover = ms;
    expect(ms).toBeLessThan(5000);
    expect(answer.body.data!.completeLesson).toEqual({ xpAwarded: 30, totalXp: 30 });
    expect((await ws.run('{ me { totalXp } }')).data).toEqual({ me: { totalXp: 30 } });
    await eventually(async () => (await ready(base)).status === 200, 5000, '/ready to be 200 again');
    await ws.close();

    // The write-behind resumed by itself: the completion reaches Postgres, once.
    const ledger = () => t.app.orm.em.getKnex()('xp_transactions').where({ learner_id: 'ff-amy' }) as Promise<{ amount: number }[]>;
    await eventually(async () => (await ledger()).length > 0, 10_000, 'the write-behind to resume');
    figures.redisFrozenWriteBehindResumed = Date.now() - thawedAt;
    await t.app.settle();
    expect((await ledger()).map((r) => Number(r.amount))).toEqual([30]);
  }, 40_000);
});

describe('Postgres frozen (a proxy that stops forwarding)', () => {
  it('answers UNAVAILABLE within the query and connect timeouts for requests that need Postgres, serves the rest, and recovers', async () => {
    const env = newTestEnv();
    const proxy = await pausableProxy(Number(new URL(env.databaseUrl).port || 5432));
    const t: TestApp = await startTestApp(throughPort(env, proxy.port), { config: TIMEOUTS });
    cleanups.push(async () => {
      proxy.resume();
      await t.app.crash();
      await proxy.close();
      await destroyTestEnv(env);
    });
    await t.app.services.catalog.upsertCourse(makeCourse({ id: 'fp', modules: 1, lessons: 2, xp: 20 }));
    const known = await tokenFor('fp-known');
    expect((await post(t.url, 'mutation { enroll(courseId: "fp") { id } }', known)).body.errors).toBeUndefined();

    const base = t.url.replace('/graphql', '');
    proxy.pause();
    const frozenAt = Date.now();
    const bound = PG_BOUND_MS + SLACK_MS;
    // Postgres is pinged at most once a second, each ping bounded by the query timeout.
    const readyDown = pollReady(base, (r) => r.body.postgres === 'down');
    // A never-seen learner's first read and first change need Postgres (hydration), and so
    // does the public lookup of an unknown id.
    const strangers = [];
    for (const [i, query] of ['{ me { totalXp } }', 'mutation { enroll(courseId: "fp") { id } }', '{ learner(id: "fp-nobody") { totalXp } }'].entries()) {
      const answer = await post(t.url, query, await tokenFor(`fp-new-${i}`));
      expectUnavailable(answer, 'POSTGRES_UNAVAILABLE', bound);
      strangers.push(answer.ms);
    }
    figures.pgFrozenFirstRead = strangers[0]!;
    figures.pgFrozenMaxOfThree = Math.max(...strangers);
    // Learners Redis holds are served as usual.
    const served = await post(t.url, COMPLETE, known, { lesson: 'fp-l1' });
    expect(served.body.errors).toBeUndefined();
    expect(served.body.data!.completeLesson.totalXp).toBe(20);

    const down = await readyDown;
    expect(down.slowest).toBeLessThan(bound);
    expect(down.answer.status).toBe(503);
    expect(down.answer.body.redis).toBe('up');
    figures.pgFrozenReadyDown = down.at - frozenAt;
    expect(down.at - frozenAt).toBeLessThan(1000 + PG_BOUND_MS + SLACK_MS);

    proxy.resume();
    const thawedAt = Date.now();
    const { ms } = await timeToRecover(async () => post(t.url, '{ me { totalXp } }', await tokenFor('fp-new-0')));
    figures.pgFrozenRecover = ms;
    expect(ms).toBeLessThan(5000);
    expect((await post(t.url, 'mutation { enroll(courseId: "fp") { id } }', await tokenFor('fp-new-1'))).body.errors).toBeUndefined();
    await eventually(async () => (await ready(base)).status === 200, 5000, '/ready to be 200 again');
    // The write-behind resumed by itself: the completion made while Postgres was frozen lands, once.
    const ledger = () => t.app.orm.em.getKnex()('xp_transactions').where({ learner_id: 'fp-known' }) as Promise<{ amount: number }[]>;
    await eventually(async () => (await ledger()).length > 0, 10_000, 'the write-behind to resume');
    figures.pgFrozenWriteBehindResumed = Date.now() - thawedAt;
    await t.app.settle();
    expect((await ledger()).map((r) => Number(r.amount))).toEqual([20]);
  }, 40_000);
});

describe.skipIf(skipOnCluster)('the real server process with Redis killed and Postgres connections cut', () => {
  it('answers 503 UNAVAILABLE, logs driver errors as rate-limited JSON lines only, and recovers when Redis is back', async () => {
    const env = newTestEnv();
    const redisPort = await freePort();
    let redis = await startRedis(redisPort);
    const proxy = await pausableProxy(Number(new URL(env.databaseUrl).port || 5432));
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        REDIS_CLUSTER_NODES: '',
        DATABASE_URL: throughPort(env, proxy.port).databaseUrl,
        KEY_PREFIX: env.keyPrefix,
        JWT_SECRET: TEST_SECRET,
        DEMO_CATALOG: 'true',
        LOG_LEVEL: 'info',
        ...TIMEOUTS,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    processes.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      redis.kill('SIGKILL');
      await proxy.close();
      await dropDatabase(env.databaseUrl);
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 30_000, 'the server to listen');
    const token = await signToken('proc-amy', { secret: TEST_SECRET });
    expect((await post(url, 'mutation { enroll(courseId: "ts-foundations") { id } }', token)).body.errors).toBeUndefined();
    // Written behind to Postgres before Redis goes (without AOF a killed Redis loses what was not).
    const direct = await openOrm(env.databaseUrl);
    cleanups.push(() => direct.close());
    const enrollments = () => direct.em.getKnex()('enrollments').where({ learner_id: 'proc-amy' });
    await eventually(async () => (await enrollments()).length === 1, 5000, 'the enrollment to reach Postgres');

    // Redis killed: a request fails at once with 503, not a masked error after seconds.
    const gone = new Promise((r) => redis.once('exit', r));
    redis.kill('SIGKILL');
    await gone;
    const killedAt = Date.now();
    const answer = await post(url, '{ me { totalXp } }', token);
    expectUnavailable(answer, 'REDIS_UNAVAILABLE', REDIS_BOUND_MS + SLACK_MS);
    figures.redisKilledMe = answer.ms;
    // Let the reconnect loop fail for a while (every connection, many times).
    await new Promise((r) => setTimeout(r, 2500 - (Date.now() - killedAt)));

    // Postgres connections cut under the pool: the next request that needs Postgres meets a
    // broken pooled connection (knex's "Connection Error"), logged as JSON.
    proxy.cut();

    // Redis back (empty): requests succeed again without a restart; the learner comes back
    // from Postgres.
    redis = await startRedis(redisPort);
    const { ms, answer: back } = await timeToRecover(() => post(url, '{ me { enrollments { course { id } } } }', token));
    figures.redisRestartedRecover = ms;
    expect(ms).toBeLessThan(5000);
    expect(back.body.data!.me.enrollments).toEqual([{ course: { id: 'ts-foundations' } }]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Nothing but JSON lines on either stream.
    expect(stderr).toBe('');
    const lines = stdout.split('\n').filter((l) => l.trim());
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const logged = lines.map((l) => JSON.parse(l) as { msg?: string; connection?: string; err?: string; component?: string });
    const redisErrors = logged.filter((l) => l.msg === 'redis connection error');
    expect(redisErrors.length).toBeGreaterThan(0);
    // Rate-limited: the same error of one connection at most once per 5 s (the outage lasted
    // under 5 s, so at most once each).
    const perKey = new Map<string, number>();
    for (const l of redisErrors) perKey.set(`${l.connection} ${l.err}`, (perKey.get(`${l.connection} ${l.err}`) ?? 0) + 1);
    expect(Math.max(...perKey.values())).toBe(1);
    expect(logged.some((l) => l.msg === 'redis connection ready again')).toBe(true);
    expect(logged.some((l) => l.component === 'postgres' && /Connection Error/.test(l.msg ?? ''))).toBe(true);
    expect(await enrollments()).toHaveLength(1);
  }, 60_000);
});

/** A graphql-ws client that runs one operation at a time and returns its first result. */
async function wsClient(wsUrl: string, token: string) {
  const { createClient } = await import('graphql-ws');
  const { default: WebSocket } = await import('ws');
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams: { authorization: `Bearer ${token}` } });
  return {
    run(query: string, timeoutMs = 10_000): Promise<{ data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] }> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer over WebSocket within ${timeoutMs} ms`)), timeoutMs);
        let first: any = null;
        client.subscribe(
          { query },
          {
            next: (v) => (first ??= v),
            error: (e) => {
              clearTimeout(timer);
              reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
            },
            complete: () => {
              clearTimeout(timer);
              resolve(first ?? {});
            },
          },
        );
      });
    },
    close: () => client.dispose(),
  };
}
