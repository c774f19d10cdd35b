import { spawn, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createLogger } from '../src/logger';
import { boundedLabel } from '../src/server/metrics';
import { destroyTestEnv, eventually, freePort, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

// What the person who runs the service sees: /metrics, the access log, CORS, /ready.
const env = newTestEnv();
let t: TestApp;
let admin: string;
let service: string;
const logLines: Record<string, any>[] = [];

const COMPLETE = 'mutation Complete($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }';
const ENROLL = 'mutation Enroll($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }';

/** POST an operation to the real HTTP server. */
async function post(app: TestApp, query: string, options: { variables?: Record<string, unknown>; token?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { res, body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } };
}

async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${app.port}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample (`name{labels}`, labels in any order), or null when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return null;
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestApp(env, { app: { logger: createLogger('info', 'lms', sink) } });
  admin = await tokenFor('admin', ['admin']);
  service = await tokenFor('lms', ['service']);
  expect((await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: makeCourse({ id: 'ops', modules: 1, lessons: 5, xp: 10 }) }, token: admin })).errors).toBeUndefined();
  expect((await t.gql(ENROLL, { variables: { l: 'ops-amy', c: 'ops' }, token: service })).errors).toBeUndefined();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('/metrics', () => {
  it('counts operations by name, their latency, and errors by code', async () => {
    const before = await scrape(t);
    const done = sample(before, 'graphql_envelop_request_duration_count', { operationName: 'Complete', operationType: 'mutation' }) ?? 0;
    const unauthenticated = sample(before, 'graphql_envelop_error_result', { code: 'UNAUTHENTICATED' }) ?? 0;
    const notFound = sample(before, 'graphql_envelop_error_result', { code: 'NOT_FOUND', operationName: 'Complete' }) ?? 0;

    expect((await post(t, COMPLETE, { variables: { l: 'ops-amy', lesson: 'ops-l1' }, token: service })).body.errors).toBeUndefined();
    const anonymous = await post(t, 'query Me { me { totalXp } }');
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const missing = await post(t, COMPLETE, { variables: { l: 'ops-amy', lesson: 'no-such-lesson' }, token: service });
    const missingCode = missing.body.errors?.[0]?.extensions?.code;
    expect(missingCode).toBeTruthy();

    const after = await scrape(t);
    expect(sample(after, 'graphql_envelop_request_duration_count', { operationName: 'Complete', operationType: 'mutation' })).toBe(done + 2);
    expect(sample(after, 'graphql_yoga_http_duration_count', { operationName: 'Complete', method: 'POST', statusCode: '200' })).toBeGreaterThanOrEqual(2);
    expect(sample(after, 'graphql_envelop_error_result', { code: 'UNAUTHENTICATED' })).toBe(unauthenticated + 1);
    // The code the client saw, not what the resolver threw before the error translator.
    expect(sample(after, 'graphql_envelop_error_result', { code: missingCode!, operationName: 'Complete' })).toBe((missingCode === 'NOT_FOUND' ? notFound : 0) + 1);
    expect(after).toMatch(/^process_cpu_seconds_total /m);
  });

  it('reads the outbox, the write-behind, hydrations and sockets at scrape time', async () => {
    expect((await post(t, COMPLETE, { variables: { l: 'ops-amy', lesson: 'ops-l2' }, token: service })).body.errors).toBeUndefined();
    await t.app.settle();
    const text = await scrape(t);
    expect(sample(text, 'lms_outbox_handled_entries_total', { group: 'flusher' })).toBe(t.app.flusher.stats.entries);
    expect(t.app.flusher.stats.entries).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'lms_outbox_handled_entries_total', { group: 'boards' })).toBe(t.app.projector.stats.entries);
    expect(sample(text, 'lms_outbox_backlog', { group: 'flusher' })).toBe(t.app.monitor.latest().groups.flusher!.backlog);
    expect(sample(text, 'lms_outbox_dead_letters')).toBe(t.app.monitor.latest().deadLetters);
    expect(sample(text, 'lms_redis_up')).toBe(1);

    // A learner Redis lost is hydrated from Postgres, once.
    const hydrations = sample(text, 'lms_hydrations_total') ?? 0;
    await t.app.redis.del(t.app.keys.learner('ops-amy'));
    expect((await post(t, 'query { me { totalXp } }', { token: await tokenFor('ops-amy') })).body.data.me.totalXp).toBeGreaterThanOrEqual(20);
    expect(sample(await scrape(t), 'lms_hydrations_total')).toBe(hydrations + 1);

    const live = await subscribe(t.wsUrl, 'subscription { myEvents { __typename } }', { token: await tokenFor('ops-amy') });
    try {
      const withSocket = await eventually(async () => {
        const s = await scrape(t);
        return sample(s, 'lms_websocket_connections') === 1 ? s : null;
      });
      const active = (t.app.ws as { activeSubscriptions?: () => number }).activeSubscriptions;
      expect(sample(withSocket, 'lms_subscriptions_active', { transport: 'ws' })).toBe(active ? 1 : 0);
    } finally {
      await live.close();
    }
    await eventually(async () => sample(await scrape(t), 'lms_websocket_connections') === 0);

    // A subscription over server-sent events counts while its stream is open.
    const abort = new AbortController();
    const sse = await fetch(t.url, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${await tokenFor('ops-amy')}` },
      body: JSON.stringify({ query: 'subscription { myEvents { __typename } }' }),
    });
    expect(sse.status).toBe(200);
    expect(sample(await scrape(t), 'lms_subscriptions_active', { transport: 'sse' })).toBe(1);
    abort.abort();
    await eventually(async () => sample(await scrape(t), 'lms_subscriptions_active', { transport: 'sse' }) === 0, 5000, 'the event stream to be counted out');
  });

  it('labels each operation by its name, client-chosen names kept to a bounded set', async () => {
    for (let i = 0; i < 5; i++) await post(t, `query Probe${i} { courses { id } }`);
    const text = await scrape(t);
    expect(sample(text, 'graphql_envelop_request_duration_count', { operationName: 'Probe4' })).toBe(1);
    const label = boundedLabel(3);
    expect(['A', 'B', 'A', 'C', 'D', 'E', 'B', undefined, 'x'.repeat(101)].map(label)).toEqual(['A', 'B', 'A', 'C', 'other', 'other', 'B', 'anonymous', 'other']);
  });
});

describe('access log', () => {
  it('writes one line per request with its id, echoed as a header, and never the token or the variables', async () => {
    const token = await tokenFor('ops-amy');
    const { res } = await post(t, 'query MyCourse($c: ID!) { course(id: $c) { id } }', { token, variables: { c: 'ops-424242' }, headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    const line = await eventually(() => logLines.find((l) => l.component === 'access' && l.requestId === 'trace-abc.123'));
    expect(line).toMatchObject({ method: 'POST', path: '/graphql', status: 200, operation: 'MyCourse', client: '127.0.0.1', msg: 'request' });
    expect(typeof line.ms).toBe('number');
    expect(JSON.stringify(line)).not.toContain(token);
    expect(JSON.stringify(line)).not.toContain('424242');
    expect(logLines.filter((l) => l.requestId === 'trace-abc.123' && l.component === 'access')).toHaveLength(1);

    // A query string is not logged; an id that is not short and plain is replaced by a new one.
    const bad = await fetch(`http://127.0.0.1:${t.port}/metrics?secret=1`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    const id = bad.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const readyLine = await eventually(() => logLines.find((l) => l.component === 'access' && l.requestId === id));
    expect(readyLine).toMatchObject({ method: 'GET', path: '/metrics', status: 200 });
  });

  it('writes one line per WebSocket when it closes, with its id and how long it was open', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${t.port}/graphql?token=secret-in-url`, 'graphql-transport-ws', { headers: { 'x-request-id': 'ws-trace-1' } });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    await new Promise((r) => setTimeout(r, 50));
    socket.close();
    const line = await eventually(() => logLines.find((l) => l.component === 'access' && l.requestId === 'ws-trace-1'));
    expect(line).toMatchObject({ method: 'GET', path: '/graphql', upgrade: 'websocket', client: '127.0.0.1', msg: 'websocket closed' });
    expect(line.ms).toBeGreaterThanOrEqual(40);
    expect(JSON.stringify(line)).not.toContain('secret-in-url');
  });
});

describe('CORS', () => {
  const preflight = (app: TestApp, origin: string) =>
    fetch(app.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });

  it('in development, answers localhost pages and no others, without credentials', async () => {
    const allowed = await post(t, '{ courses { id } }', { headers: { origin: 'http://localhost:5173' } });
    expect(allowed.res.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(allowed.res.headers.get('vary')).toMatch(/Origin/);
    expect(allowed.res.headers.get('access-control-allow-credentials')).toBeNull();
    const foreign = await post(t, '{ courses { id } }', { headers: { origin: 'https://evil.example' } });
    expect(foreign.res.headers.get('access-control-allow-origin')).toBeNull();

    const ok = await preflight(t, 'http://127.0.0.1:3000');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:3000');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const refused = await preflight(t, 'https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('configured by the operator', () => {
  let other: TestApp;
  const METRICS_TOKEN = 'scrape-secret-0123456789';

  beforeAll(async () => {
    other = await startTestApp(env, { config: { CORS_ORIGINS: 'https://app.example.com', METRICS_TOKEN } });
  });
  afterAll(async () => {
    await other?.stop();
  });

  it('answers only the listed origins', async () => {
    const listed = await post(other, '{ courses { id } }', { headers: { origin: 'https://app.example.com' } });
    expect(listed.res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const local = await post(other, '{ courses { id } }', { headers: { origin: 'http://localhost:5173' } });
    expect(local.res.headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(other, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await preflight(other, 'https://other.example.com')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('asks for METRICS_TOKEN on /metrics, and counts responses by status', async () => {
    const none = await fetch(`http://127.0.0.1:${other.port}/metrics`);
    expect(none.status).toBe(401);
    expect(await none.text()).not.toMatch(/lms_/);
    expect((await fetch(`http://127.0.0.1:${other.port}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    // Near misses too: the token cut short, one character more, without "Bearer ".
    for (const authorization of [`Bearer ${METRICS_TOKEN.slice(0, -1)}`, `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN]) {
      expect((await fetch(`http://127.0.0.1:${other.port}/metrics`, { headers: { authorization } })).status).toBe(401);
    }
    // Each instance has its own registry: two in one process both count.
    const text = await scrape(other, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(text).toMatch(/^lms_redis_up 1$/m);
    expect(sample(text, 'lms_http_responses_total', { status: '401' })).toBe(5);
  });

  function preflight(app: TestApp, origin: string) {
    return fetch(app.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  }
});

describe('/ready follows Redis', () => {
  let redis: ChildProcess | null = null;
  let port: number;
  const own = { ...newTestEnv() };
  let app: TestApp;

  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const { Redis } = await import('ioredis');
    await eventually(async () => {
      const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.disconnect();
      }
    }, 5000, 'the private redis-server');
  };
  const stopRedis = async () => {
    const p = redis!;
    redis = null;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await gone;
  };
  const ready = async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/ready`);
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    port = await freePort();
    own.redisUrl = `redis://127.0.0.1:${port}`;
    own.redisClusterNodes = null;
    await startRedis();
    app = await startTestApp(own, { config: { REDIS_COMMAND_TIMEOUT_MS: '300', REDIS_CONNECT_TIMEOUT_MS: '300', READY_MAX_DEAD_LETTERS: '2' } });
  });
  afterAll(async () => {
    await app?.stop();
    await destroyTestEnv(own).catch(() => undefined);
    if (redis) await stopRedis();
  });

  it('shows the write-behind lag and dead letters, and is 503 past the dead-letter bound', async () => {
    const first = await ready();
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'ready', redis: 'up', postgres: 'up', writeBehindLagMs: 0, outbox: { deadLetters: 0 } });
    // A load balancer's probe may carry a query string.
    expect((await fetch(`http://127.0.0.1:${app.port}/ready?probe=lb`)).status).toBe(200);
    // Two entries in the dead letters of a partition (as the write-behind puts them there).
    for (let i = 0; i < 2; i++) await app.app.redis.xadd(app.app.keys.deadLetters(0), '*', 'entry', `broken-${i}`);
    const full = await eventually(async () => {
      const r = await ready();
      return r.status === 503 ? r : null;
    }, 5000, '/ready to count the dead letters');
    expect(full.body.reasons).toContain('2 dead letters (bound 2)');
    expect(full.body.outbox.deadLetters).toBe(2);
    await app.app.redis.del(app.app.keys.deadLetters(0));
    await eventually(async () => (await ready()).status === 200, 5000, '/ready again');
  });

  it('is 503 while Redis is down and 200 when it is back', async () => {
    expect((await ready()).status).toBe(200);
    await stopRedis();
    // At once 503 (the connection closed: changes wait for a rollback check), then Redis down.
    const down = await eventually(async () => {
      const r = await ready();
      expect(r.status).toBe(503);
      return r.body.redis === 'down' ? r : null;
    }, 10_000, '/ready to see Redis gone');
    expect(down.body).toMatchObject({ status: 'not ready', redis: 'down' });
    expect(down.body.reasons).toContain('redis unavailable');
    // Alive all the same: a liveness probe must not restart a process over a store outage.
    const health = await fetch(`http://127.0.0.1:${app.port}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'alive' });

    await startRedis();
    const back = await eventually(async () => {
      const r = await ready();
      return r.status === 200 ? r : null;
    }, 20_000, '/ready to see Redis back');
    expect(back.body).toMatchObject({ status: 'ready', redis: 'up' });
  });
});
