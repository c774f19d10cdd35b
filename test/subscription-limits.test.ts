import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import type { RankedEntry } from '../src/domain/boards/rules';
import { BoardStore } from '../src/store/redis/boards';
import { BoardFeeds, type TopSnapshot } from '../src/subscriptions/feeds';
import { RedisPubSub } from '../src/subscriptions/pubsub';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, testRedis, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let admin: string;
let service: string;
/** Every log line of the server, parsed. */
const logs: Record<string, any>[] = [];

const MAX_SUBS = 4;
const MAX_CONNS = 12;
const SLOW_BYTES = 64 * 1024;
const LESSONS = 200;
/** Long ids make each board message big, so a paused client's buffers fill in a second. */
const LEARNERS = Array.from({ length: 100 }, (_, i) => `lim-${String(i).padStart(3, '0')}-${'x'.repeat(180)}`);

const COMPLETE = 'mutation($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }';
const TOP = 'subscription($f: Int) { leaderboardChanged(board: { courseId: "lim" }, first: $f) { totalCount entries { rank score learner { id } } } }';

let moves = 0;
/** Lessons each learner has completed so far (their next one is the one after). */
const completed = new Map<string, number>();
/** Complete the next lesson of `n` learners taken in turn, so the course board moves. */
async function moveBoard(n = 5): Promise<void> {
  const learners = Array.from({ length: n }, () => LEARNERS[moves++ % LEARNERS.length]!);
  await Promise.all(
    learners.map(async (l) => {
      const done = completed.get(l) ?? 0;
      if (done >= LESSONS) throw new Error('the test ran out of lessons');
      completed.set(l, done + 1);
      const res = await t.gql(COMPLETE, { variables: { l, lesson: `lim-l${done + 1}` }, token: service });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
    }),
  );
}

/** Keep the board moving until `stop()` resolves truthy. */
async function moveUntil(stop: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!stop()) {
    if (Date.now() > deadline) throw new Error('timed out moving the board');
    await moveBoard();
  }
}

interface Sub {
  values: any[];
  errors: any[];
  completed: boolean;
  dispose: () => void;
}

interface WsConn {
  client: Client;
  closed: Promise<{ code: number; reason: string }>;
  sub(query: string, variables?: Record<string, unknown>): Sub;
}

async function wsConnect(token?: string): Promise<WsConn> {
  let resolveClosed!: (e: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const client = createClient({
    url: t.wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (e) => resolveClosed({ code: (e as { code: number }).code, reason: String((e as { reason: string }).reason) }) },
    onNonLazyError: () => undefined,
  });
  const connected = new Promise<void>((r) => client.on('connected', () => r()));
  await Promise.race([connected, closed]);
  return {
    client,
    closed,
    sub(query, variables) {
      const s: Sub = { values: [], errors: [], completed: false, dispose: () => undefined };
      s.dispose = client.subscribe(
        { query, variables },
        {
          next: (v) => {
            if (v.errors) s.errors.push(...v.errors);
            if (v.data) s.values.push(v.data);
          },
          error: (e) => s.errors.push(...(Array.isArray(e) ? e : [e])),
          complete: () => (s.completed = true),
        },
      );
      return s;
    },
  };
}

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestApp(env, {
    config: {
      MAX_SUBSCRIPTIONS_PER_CONNECTION: String(MAX_SUBS),
      MAX_CONNECTIONS_PER_CLIENT: String(MAX_CONNS),
      SLOW_CONSUMER_BYTES: String(SLOW_BYTES),
      SLOW_CONSUMER_MS: '1000',
      MAX_QUERY_COST: '3000',
    },
    app: { logger: createLogger('warn', 'lms', sink), boardFeedIntervalMs: 20 },
  });
  admin = await tokenFor('admin', ['admin']);
  service = await tokenFor('lms', ['service']);
  const course = makeCourse({ id: 'lim', modules: 10, lessons: LESSONS / 10, xp: 10 });
  expect((await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin })).errors).toBeUndefined();
  for (const l of LEARNERS) {
    expect((await t.gql('mutation($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { l, c: 'lim' }, token: service })).errors).toBeUndefined();
  }
  await moveBoard(LEARNERS.length);
  await t.app.settle();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('subscriptions per connection', () => {
  it('gives the one past the bound TOO_MANY_SUBSCRIPTIONS; the connection and its others go on', async () => {
    const conn = await wsConnect();
    const subs = Array.from({ length: MAX_SUBS }, () => conn.sub(TOP, { f: 3 }));
    await eventually(() => subs.every((s) => s.values.length >= 1), 5000, 'the first values');
    const extra = conn.sub(TOP, { f: 3 });
    await eventually(() => extra.errors.length > 0, 5000, 'the refusal');
    expect(extra.errors[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(extra.values).toEqual([]);

    const before = subs.map((s) => s.values.length);
    await moveUntil(() => subs.every((s, i) => s.values.length > before[i]!), 10_000);
    // Completing one frees a place.
    subs[0]!.dispose();
    await eventually(() => t.app.services.feeds.boards.topWatchers('c:lim:all') === MAX_SUBS - 1, 5000, 'the feed to let go');
    const again = conn.sub(TOP, { f: 3 });
    await eventually(() => again.values.length >= 1, 5000, 'the new subscription');
    expect(again.errors).toEqual([]);
    await conn.client.dispose();
  });

  it('errors an alias-, cost- or syntax-refused operation alone; the other subscription keeps receiving', async () => {
    const conn = await wsConnect();
    const good = conn.sub(TOP, { f: 3 });
    await eventually(() => good.values.length >= 1, 5000, 'the first value');
    const aliases = conn.sub(`subscription { leaderboardChanged { ${Array.from({ length: 40 }, (_, i) => `a${i}: totalCount`).join(' ')} } }`);
    const costly = conn.sub('subscription { leaderboardChanged(first: 100) { entries { learner { id totalXp level { level progress } badges { awardedAt badge { id name description } } } } } }');
    const broken = conn.sub('subscription { leaderboardChanged { ');
    await eventually(() => [aliases, costly, broken].every((s) => s.errors.length > 0), 5000, 'the refusals');
    // One at a time: four at once would pass the bound of subscriptions per connection.
    const anonymousRank = conn.sub('subscription { rankChanged { rank } }');
    await eventually(() => [aliases, costly, broken, anonymousRank].every((s) => s.errors.length > 0 || s.completed), 5000, 'the refusals');
    expect(aliases.errors[0]).toMatchObject({ extensions: { code: 'TOO_MANY_ALIASES' } });
    expect(costly.errors[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COSTLY' } });
    expect(broken.errors[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    expect(anonymousRank.errors[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });

    const before = good.values.length;
    await moveUntil(() => good.values.length > before, 10_000);
    expect(good.errors).toEqual([]);
    const closed = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 100))]);
    expect(closed).toBe('open');
    await conn.client.dispose();
  });
});

describe('operations graphql-ws cannot pick', () => {
  it('errors a document whose operation cannot be determined with a code, as over HTTP; the connection stays open', async () => {
    const conn = await wsConnect();
    const two = conn.sub('subscription A { leaderboardChanged { totalCount } } subscription B { leaderboardChanged { totalCount } }');
    await eventually(() => two.errors.length > 0 || two.completed, 5000, 'the refusal');
    const namedErrors: unknown[] = [];
    const named = conn.client.subscribe(
      { query: 'subscription A { leaderboardChanged { totalCount } }', operationName: 'Z' },
      { next: () => undefined, error: (e) => namedErrors.push(...(Array.isArray(e) ? e : [e])), complete: () => undefined },
    );
    await eventually(() => namedErrors.length > 0, 5000, 'the refusal of an unknown operationName');
    named();
    expect(two.errors[0]).toMatchObject({ message: 'Could not determine what operation to execute.', extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
    expect(namedErrors[0]).toMatchObject({ extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
    const closed = await Promise.race([conn.closed, new Promise((r) => setTimeout(() => r('open'), 100))]);
    expect(closed).toBe('open');
    await conn.client.dispose();
  });
});

/** Open a raw event stream (no reads at all: the socket is paused at once). */
async function pausedEventStream(query: string, variables: Record<string, unknown>, token?: string): Promise<Socket> {
  const body = JSON.stringify({ query, variables });
  const socket = connect(t.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  socket.write(
    [
      'POST /graphql HTTP/1.1',
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      'Accept: text/event-stream',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(token ? [`Authorization: Bearer ${token}`] : []),
      '',
      body,
    ].join('\r\n'),
  );
  return socket;
}

describe('connections per client', () => {
  it('refuses a WebSocket past the bound with 4429 and an event stream with 429; a freed place can be used again', async () => {
    const token = await tokenFor('lim-many');
    const held = await Promise.all(Array.from({ length: MAX_CONNS }, () => wsConnect(token)));
    const third = await wsConnect(token);
    expect((await third.closed).code).toBe(4429);
    expect((await third.closed).reason).toMatch(/Too many connections/);

    const sse = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: TOP, variables: { f: 1 } }),
    });
    expect(sse.status).toBe(429);
    expect(((await sse.json()) as any).errors[0].extensions.code).toBe('TOO_MANY_CONNECTIONS');

    // Another client is not affected, and the limit is per client, not per address.
    const other = await wsConnect(await tokenFor('lim-other'));
    await other.client.dispose();

    await held[0]!.client.dispose();
    await eventually(async () => {
      const c = await wsConnect(token);
      const open = await Promise.race([c.closed.then(() => false), new Promise((r) => setTimeout(() => r(true), 200))]);
      if (open) await c.client.dispose();
      return open;
    }, 5000, 'a place to free up');
    await Promise.all(held.slice(1).map((c) => c.client.dispose()));
  });

  it('bounds sockets that never send connection_init per address (5 x the per-client bound); a signed-in client still connects once they go', async () => {
    const silent = (): Promise<{ ws: WebSocket; closed: Promise<number> }> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(t.wsUrl, 'graphql-transport-ws');
        const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
        ws.once('open', () => resolve({ ws, closed }));
        ws.once('error', reject);
      });
    const bound = MAX_CONNS * 5;
    const held = await Promise.all(Array.from({ length: bound }, silent));
    const over = await silent();
    expect(await over.closed).toBe(4429);
    // Those waiting are closed by graphql-ws's init timeout (3 s); then places are free again.
    for (const h of held) h.ws.close();
    await Promise.all(held.map((h) => h.closed));
    const ok = await wsConnect(await tokenFor('lim-after-silent'));
    expect(await Promise.race([ok.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('open'), 200))])).toBe('open');
    await ok.client.dispose();
  });

  it('counts event streams with WebSockets', async () => {
    const token = await tokenFor('lim-mixed');
    const ws = await Promise.all(Array.from({ length: MAX_CONNS - 1 }, () => wsConnect(token)));
    const ac = new AbortController();
    const stream = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: TOP, variables: { f: 1 } }),
      signal: ac.signal,
    });
    expect(stream.status).toBe(200);
    const over = await wsConnect(token);
    expect((await over.closed).code).toBe(4429);
    ac.abort();
    await Promise.all(ws.map((c) => c.client.dispose()));
  });
});

describe('slow consumers', () => {
  it('closes a WebSocket that stops reading before its unsent bytes pass the bound, and frees its subscriptions', async () => {
    const others = new Set(t.app.ws.wss.clients);
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    await once(socket, 'open');
    const server = [...t.app.ws.wss.clients].find((c) => !others.has(c))!;
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await once(socket, 'message');
    for (let i = 0; i < MAX_SUBS; i += 1) socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: TOP, variables: { f: 100 } } }));
    await eventually(() => t.app.services.feeds.boards.topWatchers('c:lim:all') >= MAX_SUBS, 5000, 'the subscriptions');
    // Stop reading: the kernel's buffers fill, then the server's.
    (socket as unknown as { _socket: Socket })._socket.pause();
    const logged = () => logs.find((l) => l.msg?.includes('slow consumer') && l.component === 'ws');
    let maxBuffered = 0;
    const sample = setInterval(() => {
      maxBuffered = Math.max(maxBuffered, server.bufferedAmount);
    }, 5);
    const startedAt = Date.now();
    try {
      await moveUntil(() => Boolean(logged()), 20_000);
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      // Dropped a second after its close frame went unread; its subscriptions are gone.
      await eventually(() => !t.app.ws.wss.clients.has(server), 5000, 'the socket to be dropped');
    } finally {
      clearInterval(sample);
    }
    expect(logged()).toMatchObject({ level: 40, maxBytes: SLOW_BYTES });
    expect(logged()!.bufferedBytes).toBeLessThanOrEqual(SLOW_BYTES);
    expect(maxBuffered).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(SLOW_BYTES);
    await eventually(() => t.app.services.feeds.boards.topWatchers('c:lim:all') === 0, 5000, 'the feed to let go');
    socket.terminate();
  });

  it('ends an event stream whose client stops reading, and frees its subscription', async () => {
    const socket = await pausedEventStream(TOP, { f: 100 }, await tokenFor('lim-sse'));
    await eventually(() => t.app.services.feeds.boards.topWatchers('c:lim:all') === 1, 5000, 'the stream to subscribe');
    const logged = () => logs.find((l) => l.msg?.includes('slow consumer') && l.component === 'http');
    await moveUntil(() => Boolean(logged()), 20_000);
    expect(logged()).toMatchObject({ level: 40, client: 'learner:lim-sse' });
    await eventually(() => t.app.services.feeds.boards.topWatchers('c:lim:all') === 0, 5000, 'the feed to let go');
    socket.destroy();
  });
});

/** A BoardStore that counts its top reads (the real store underneath). */
class CountingBoardStore extends BoardStore {
  pages = 0;
  override async page(boardId: string, offset: number, count: number): Promise<{ entries: RankedEntry[]; total: number }> {
    this.pages += 1;
    return super.page(boardId, offset, count);
  }
}

describe('leaderboardChanged shared', () => {
  it('reads a board once per tick for all its subscribers, and pushes one snapshot per first', async () => {
    // No board message in flight: the only reads are the feed's own.
    await t.app.settle();
    const store = new CountingBoardStore(t.app.redis, t.app.keys, (id) => t.app.boardRepo.entries(id), { periodGraceMs: t.app.config.boardPeriodGraceMs });
    const pub = testRedis();
    const sub = testRedis();
    await Promise.all([pub.connect(), sub.connect()]);
    const log = createLogger('silent');
    const pubsub = new RedisPubSub(pub, sub, t.app.keys, log);
    await pubsub.start();
    const feeds = new BoardFeeds(pubsub, store, log, { minIntervalMs: 100 });
    const firsts = Array.from({ length: 120 }, (_, i) => [100, 50, 10][i % 3]!);
    const iterators = firsts.map((f) => feeds.tops('c:lim:all', f));
    const received: TopSnapshot[][] = firsts.map(() => []);
    let live = true;
    const pumps = iterators.map(async (it, i) => {
      while (live) {
        const r = await it.next();
        if (r.done) return;
        received[i]!.push(r.value);
      }
    });
    try {
      await eventually(() => received.every((r) => r.length >= 1), 5000, 'every first snapshot');
      // Subscribers arriving together share one read.
      expect(store.pages).toBe(1);
      expect(received[0]![0]!.entries).toHaveLength(100);
      expect(received[2]![0]!.entries).toHaveLength(10);

      const readsBefore = store.pages;
      const seen = received[0]!.length;
      await moveUntil(() => received[0]!.length >= seen + 5, 10_000);
      const ticks = received[0]!.length - seen;
      const reads = store.pages - readsBefore;
      // One read per tick (plus at most one in flight or with nothing new to send), not one per subscriber.
      expect(reads).toBeGreaterThanOrEqual(ticks);
      expect(reads).toBeLessThanOrEqual(ticks + 2);
      // Subscribers of one first got the very same snapshot object.
      const last100 = received[0]!.at(-1)!;
      expect(received.filter((_, i) => firsts[i] === 100).every((r) => r.includes(last100))).toBe(true);
    } finally {
      live = false;
      await Promise.all(iterators.map((it) => it.return?.()));
      await Promise.all(pumps);
      await pubsub.stop();
      pub.disconnect();
      sub.disconnect();
    }
  });

  it('executes a change once for every WebSocket subscriber of the same operation, whoever is signed in', async () => {
    const store = t.app.learnerStore;
    const counters = store.counters.bind(store);
    let reads = 0;
    store.counters = async (ids) => {
      reads += 1;
      return counters(ids);
    };
    const conns = await Promise.all(Array.from({ length: 10 }, async (_, i) => wsConnect(await tokenFor(LEARNERS[i]!))));
    try {
      const subs = conns.map((c) => c.sub('subscription { leaderboardChanged(board: { courseId: "lim" }, first: 100) { entries { learner { id totalXp } } } }'));
      await eventually(() => subs.every((s) => s.values.length >= 1), 5000, `every first value ${JSON.stringify(subs.map((s) => s.errors))}`);
      const before = reads;
      const seen = subs.map((s) => s.values.length);
      await moveUntil(() => subs.every((s, i) => s.values.length >= seen[i]! + 3), 10_000);
      await new Promise((r) => setTimeout(r, 100));
      const ticks = Math.max(...subs.map((s, i) => s.values.length - seen[i]!));
      // Each tick's totalXp for 100 entries is one batched read, shared by the 10 subscribers.
      expect(reads - before).toBeLessThanOrEqual(ticks + 2);
      expect(subs.every((s) => JSON.stringify(s.values.at(-1)) === JSON.stringify(subs[0]!.values.at(-1)))).toBe(true);
    } finally {
      store.counters = counters;
      await Promise.all(conns.map((c) => c.client.dispose()));
    }
  });

  it('keeps fields that depend on who asks per viewer', async () => {
    const [a, b] = [LEARNERS[0]!, LEARNERS[1]!];
    const query = 'subscription { leaderboardChanged(board: { courseId: "lim" }, first: 1) { me { learner { id } } } }';
    const conns = await Promise.all([wsConnect(await tokenFor(a)), wsConnect(await tokenFor(b))]);
    try {
      const subs = conns.map((c) => c.sub(query));
      await eventually(() => subs.every((s) => s.values.length >= 1), 5000, 'every first value');
      const seen = subs.map((s) => s.values.length);
      await moveUntil(() => subs.every((s, i) => s.values.length > seen[i]!), 10_000);
      expect(subs.map((s) => s.values.at(-1).leaderboardChanged.me.learner.id)).toEqual([a, b]);
    } finally {
      await Promise.all(conns.map((c) => c.client.dispose()));
    }
  });
});
