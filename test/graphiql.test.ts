import { randomUUID } from 'node:crypto';
import { parse, validate } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTokenSync } from '../src/domain/auth/tokens';
import { buildSchema } from '../src/schema';
import { MAX_ALIASES } from '../src/schema/limits';
import { DEMO_LEARNER } from '../src/server/graphiql';
import { destroyTestEnv, eventually, newTestEnv, startTestApp, TEST_SECRET, tokenFor, type TestApp } from './harness';

// GraphiQL as a newcomer meets it: served offline by the server, opening with headers that
// work and example tabs that run, its subscriptions authenticated the way GraphiQL sends them.
const env = newTestEnv();
/** A development server (GraphiQL with a demo token, the demo catalog). */
let dev: TestApp;
/** A production server with the defaults: no GraphiQL, no introspection. */
let prod: TestApp;

beforeAll(async () => {
  dev = await startTestApp(env, { config: { NODE_ENV: 'development', DEMO_CATALOG: 'true' } });
  prod = await startTestApp(env, { config: { NODE_ENV: 'production' } });
});

afterAll(async () => {
  await dev?.stop();
  await prod?.stop();
  await destroyTestEnv(env);
});

const base = (t: TestApp) => `http://127.0.0.1:${t.port}`;

async function page(t: TestApp, config?: { headers?: Record<string, string> }): Promise<Response> {
  return fetch(`${base(t)}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml', ...config?.headers } });
}

interface Tab {
  query: string;
  variables: string | null;
  headers: string;
}

/** The options the page hands to GraphiQL. */
function optionsOf(html: string): { headers: string; defaultTabs: Tab[]; subscriptionsProtocol: string } {
  const m = /renderYogaGraphiQL\([^,]+,\s*(\{.*\})\);\s*<\/script>/s.exec(html);
  expect(m, 'the page renders GraphiQL with its options').not.toBeNull();
  return JSON.parse(m![1]!);
}

/** JSON with // comments (GraphiQL's header editor reads JSONC). */
function jsonc(text: string): Record<string, unknown> {
  return JSON.parse(text.replace(/^\s*\/\/.*$/gm, ''));
}

/** A raw graphql-transport-ws socket speaking as GraphiQL does. */
async function rawSocket(t: TestApp, connectionParams: Record<string, unknown> = {}) {
  const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
  const messages: any[] = [];
  let closed: { code: number; reason: string } | null = null;
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  socket.on('close', (code, reason) => (closed = { code, reason: String(reason) }));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  // GraphiQL's connection_init: its connectionParams are unset, so the payload is {}.
  socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams }));
  await eventually(() => messages.some((m) => m.type === 'connection_ack'), 5000, 'connection_ack');
  return {
    messages,
    closed: () => closed,
    /** GraphiQL's subscribe frame: the headers editor's contents in payload.extensions.headers, no variables when there are none. */
    subscribe(query: string, operationName: string, headers: Record<string, unknown>, variables?: Record<string, unknown>) {
      const id = randomUUID();
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, operationName, ...(variables ? { variables } : {}), extensions: { headers } } }));
      return id;
    },
    of: (id: string) => messages.filter((m) => m.id === id),
    complete: (id: string) => socket.send(JSON.stringify({ id, type: 'complete' })),
    close: () => socket.close(),
  };
}

describe('GraphiQL, offline', () => {
  it('is served with nothing from another host: a small page and its bundle, from this server, cached for good', async () => {
    const res = await page(dev);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html.length).toBeLessThan(100_000);
    // Every script, stylesheet and icon the page loads is a path on this server or a data: URI.
    const loads = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(loads.length).toBeGreaterThanOrEqual(3);
    for (const url of loads) expect(url).toMatch(/^(\/graphiql\/|data:)/);
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs|esm\.sh|googleapis/);

    const assets = [...html.matchAll(/"(\/graphiql\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    expect(assets.filter((a) => a.endsWith('.js')).length).toBe(4); // GraphiQL and Monaco's three workers
    for (const asset of new Set(assets)) {
      // fetch asks for gzip and unpacks it.
      const got = await fetch(base(dev) + asset);
      expect(got.status, asset).toBe(200);
      expect(got.headers.get('cache-control')).toMatch(/immutable/);
      if (!asset.endsWith('.ico')) expect(got.headers.get('content-encoding')).toBe('gzip');
      const text = await got.text();
      expect(text.length).toBeGreaterThan(1000);
      // Nothing in the bundle loads from a CDN either.
      expect(text).not.toMatch(/unpkg\.com|cdn\.jsdelivr|cdnjs\.|esm\.sh|fonts\.googleapis/);
    }
    expect((await fetch(`${base(dev)}/graphiql/graphiql.0000.js`)).status).toBe(404);
  });

  it('opens, in development, with a ready token for the demo learner, signed with the server secret', async () => {
    const options = optionsOf(await (await page(dev)).text());
    expect(options.subscriptionsProtocol).toBe('WS');
    const headers = jsonc(options.headers) as { Authorization: string };
    const token = /^Bearer (\S+)$/.exec(headers.Authorization)![1]!;
    expect(verifyTokenSync(token, TEST_SECRET).id).toBe(DEMO_LEARNER);
    for (const tab of options.defaultTabs) expect(tab.headers).toBe(options.headers);
    // The token works: the dashboard query answers for the demo learner.
    const me = await dev.gql('{ me { id } }', { token });
    expect(me.errors).toBeUndefined();
    expect(me.data!.me.id).toBe(DEMO_LEARNER);
  });

  it('opens elsewhere with headers the server accepts ({}) and says how to get a token', async () => {
    const t = await startTestApp(env, { config: { NODE_ENV: 'test' } });
    try {
      const options = optionsOf(await (await page(t)).text());
      expect(jsonc(options.headers)).toEqual({});
      expect(options.headers).toContain('npm run -s token -- alice@example.com');
      expect(options.headers).not.toMatch(/eyJ/);
      // With those headers the schema loads: introspection answers without a token.
      const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', ...(jsonc(options.headers) as Record<string, string>) }, body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }) });
      expect(((await res.json()) as any).data.__schema.queryType.name).toBe('Query');
    } finally {
      await t.stop();
    }
  });

  it('gives no token in development when demo sign-in is off (DEMO_SIGN_IN=false)', async () => {
    const t = await startTestApp(env, { config: { NODE_ENV: 'development', DEMO_SIGN_IN: 'false' } });
    try {
      const options = optionsOf(await (await page(t)).text());
      expect(jsonc(options.headers)).toEqual({});
      expect(options.headers).not.toMatch(/eyJ/);
    } finally {
      await t.stop();
    }
  });

  it('has example tabs for the dashboard query, completeLesson, recordEvents and every subscription, each valid against the served schema', async () => {
    const { defaultTabs } = optionsOf(await (await page(dev)).text());
    const schema = buildSchema();
    const operations = new Map<string, string>();
    for (const tab of defaultTabs) {
      const document = parse(tab.query);
      expect(validate(schema, document).map((e) => e.message), tab.query.slice(0, 80)).toEqual([]);
      if (tab.variables) expect(() => JSON.parse(tab.variables!)).not.toThrow();
      for (const def of document.definitions) if (def.kind === 'OperationDefinition') operations.set(`${def.operation} ${def.name?.value}`, tab.query);
    }
    const subscriptionFields = Object.keys(schema.getSubscriptionType()!.getFields());
    const roots = defaultTabs.map((t) => t.query).join('\n');
    for (const field of ['me', 'completeLesson', 'recordEvents', ...subscriptionFields]) expect(roots, field).toMatch(new RegExp(`\\b${field}\\b`));
    expect([...operations.keys()]).toEqual(expect.arrayContaining(['query Me', 'mutation CompleteLesson', 'mutation RecordEvents', 'subscription MyEvents']));
  });

  it('runs its examples as they are: enroll, complete a lesson, record events, read the dashboard', async () => {
    const options = optionsOf(await (await page(dev)).text());
    const headers = jsonc(options.headers) as Record<string, string>;
    const run = async (tab: Tab, operationName: string) => {
      const res = await fetch(dev.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query: tab.query, operationName, variables: tab.variables ? JSON.parse(tab.variables) : undefined }),
      });
      const body = (await res.json()) as any;
      expect(body.errors, operationName).toBeUndefined();
      return body.data;
    };
    const tabOf = (name: string) => options.defaultTabs.find((t) => new RegExp(`(query|mutation|subscription) ${name}\\b`).test(t.query))!;
    await run(tabOf('Enroll'), 'Enroll');
    const done = await run(tabOf('CompleteLesson'), 'CompleteLesson');
    expect(done.completeLesson.xpAwarded).toBeGreaterThan(0);
    const batch = await run(tabOf('RecordEvents'), 'RecordEvents');
    expect(batch.recordEvents).toMatchObject({ accepted: 2, duplicates: 0, rejected: [] });
    const me = await run(tabOf('Me'), 'Me');
    expect(me.me.totalXp).toBeGreaterThanOrEqual(done.completeLesson.totalXp);
    expect(me.me.enrollments.length).toBe(1);
  });
});

describe('subscriptions as GraphiQL sends them (token in extensions.headers, not connectionParams)', () => {
  it('runs a subscription authenticated by its own headers, refuses a bad token for that operation only, and counts active operations', async () => {
    const learner = `gq-${randomUUID().slice(0, 8)}`;
    const token = await tokenFor(learner);
    const socket = await rawSocket(dev);
    try {
      const bad = socket.subscribe('subscription MyEvents { myEvents { __typename } }', 'MyEvents', { Authorization: 'Bearer not-a-token' });
      await eventually(() => socket.of(bad).length > 0, 5000, 'the refusal');
      expect(socket.of(bad)[0]).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
      expect(socket.closed()).toBeNull();

      const anonymous = socket.subscribe('subscription MyEvents { myEvents { __typename } }', 'MyEvents', {});
      await eventually(() => socket.of(anonymous).length > 0, 5000, 'the anonymous refusal');
      expect(JSON.stringify(socket.of(anonymous))).toContain('UNAUTHENTICATED');

      const before = dev.app.ws.activeSubscriptions();
      const live = socket.subscribe(
        'subscription MyEvents { myEvents { __typename ... on XpAwarded { amount totalXp } } }',
        'MyEvents',
        // Header names are case-insensitive; GraphiQL sends them as typed.
        { authorization: `Bearer ${token}` },
      );
      await eventually(() => dev.app.ws.activeSubscriptions() === before + 1, 5000, 'the subscription to run');
      await new Promise((r) => setTimeout(r, 200));
      expect((await dev.gql('mutation { enroll(courseId: "ts-foundations") { id } }', { token })).errors).toBeUndefined();
      expect((await dev.gql('mutation { completeLesson(lessonId: "ts-1-1") { totalXp } }', { token })).errors).toBeUndefined();
      const xp = await eventually(() => socket.of(live).find((m) => m.type === 'next' && m.payload.data?.myEvents.__typename === 'XpAwarded'), 10_000, 'XpAwarded');
      expect(xp.payload.data.myEvents).toMatchObject({ amount: 50, totalXp: 50 });

      // A query over the socket with the same headers reads as that learner.
      const q = socket.subscribe('query Who { me { id } }', 'Who', { Authorization: `Bearer ${token}` });
      await eventually(() => socket.of(q).some((m) => m.type === 'complete'), 5000, 'the query');
      expect(socket.of(q)[0].payload.data.me.id).toBe(learner);

      socket.complete(live);
      await eventually(() => dev.app.ws.activeSubscriptions() === before, 5000, 'the subscription to end');
    } finally {
      socket.close();
    }
  });

  it('keeps a connection token first: extensions.headers do not switch the learner of a signed-in connection', async () => {
    const alice = await tokenFor('gq-conn-alice');
    const bob = await tokenFor('gq-conn-bob');
    const socket = await rawSocket(dev, { authorization: `Bearer ${alice}` });
    try {
      const q = socket.subscribe('query Who { me { id } }', 'Who', { Authorization: `Bearer ${bob}` });
      await eventually(() => socket.of(q).some((m) => m.type === 'complete'), 5000, 'the query');
      expect(socket.of(q)[0].payload.data.me.id).toBe('gq-conn-alice');
    } finally {
      socket.close();
    }
  });
});

describe('switches and limits', () => {
  it('serves no GraphiQL when GRAPHIQL is off (production default), nor its bundle', async () => {
    const res = await page(prod);
    const body = await res.text();
    expect(body).not.toMatch(/renderYogaGraphiQL|<html/i);
    const html = await (await page(dev)).text();
    const asset = /"(\/graphiql\/graphiql\.[^"]+\.js)"/.exec(html)![1]!;
    expect((await fetch(base(prod) + asset)).status).toBe(404);
  });

  it('refuses introspection with INTROSPECTION_DISABLED when INTROSPECTION is off (production default), over HTTP and WebSocket', async () => {
    const http = await prod.gql('{ __schema { types { name } } }');
    expect(http.data ?? undefined).toBeUndefined();
    expect(http.errors![0]!.extensions!.code).toBe('INTROSPECTION_DISABLED');
    const type = await prod.gql('{ __type(name: "Query") { name } }');
    expect(type.errors![0]!.extensions!.code).toBe('INTROSPECTION_DISABLED');
    // __typename is no introspection: clients rely on it.
    expect((await prod.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    const socket = await rawSocket(prod, { authorization: `Bearer ${await tokenFor('gq-prod')}` });
    try {
      const id = socket.subscribe('query I { __schema { queryType { name } } }', 'I', {});
      await eventually(() => socket.of(id).length > 0, 5000, 'the refusal');
      expect(socket.of(id)[0]).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'INTROSPECTION_DISABLED' } }] });
    } finally {
      socket.close();
    }
    // On in development.
    expect((await dev.gql('{ __schema { queryType { name } } }')).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('answers too many aliases with TOO_MANY_ALIASES over HTTP and WebSocket', async () => {
    const query = `{ ${Array.from({ length: MAX_ALIASES + 1 }, (_, i) => `a${i}: levels { level }`).join(' ')} }`;
    const fragment = `query Q { ...F } fragment F on Query { ${Array.from({ length: MAX_ALIASES + 1 }, (_, i) => `a${i}: levels { level }`).join(' ')} }`;
    // Every way an HTTP client may ask: JSON, the GraphQL response type, event streams, multipart; POST and GET.
    for (const accept of ['application/json', 'application/graphql-response+json', 'text/event-stream', 'multipart/mixed']) {
      for (const q of [query, fragment]) {
        for (const method of ['POST', 'GET']) {
          const res =
            method === 'POST'
              ? await fetch(dev.url, { method, headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query: q }) })
              : await fetch(`${dev.url}?query=${encodeURIComponent(q)}`, { headers: { accept } });
          const text = await res.text();
          const errors = [...text.matchAll(/\{"errors":(\[.*?\])\}/g)].flatMap((m) => JSON.parse(m[1]!) as { message: string; extensions?: { code?: string } }[]);
          expect(errors.length, `${method} ${accept}: ${text.slice(0, 200)}`).toBeGreaterThan(0);
          for (const e of errors) expect(e.extensions?.code, `${method} ${accept}: ${e.message}`).toBe('TOO_MANY_ALIASES');
        }
      }
    }
    const socket = await rawSocket(dev, { authorization: `Bearer ${await tokenFor('gq-alias')}` });
    try {
      for (const [q, name] of [[query, undefined], [fragment, 'Q']] as const) {
        const id = socket.subscribe(q, name as never, {});
        await eventually(() => socket.of(id).length > 0, 5000, 'the refusal');
        const [answer] = socket.of(id);
        expect(answer.type).toBe('error');
        for (const e of answer.payload) expect(e.extensions?.code, e.message).toBe('TOO_MANY_ALIASES');
      }
    } finally {
      socket.close();
    }
  });
});
