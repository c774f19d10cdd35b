import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/domain/auth/tokens';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, subscribe, TEST_SECRET, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;

function b64(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

async function code(query: string, headers: Record<string, string> = {}, variables?: Record<string, unknown>): Promise<{ code?: string; message?: string; status: number }> {
  const res = await t.app.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { code: body.errors?.[0]?.extensions?.code, message: body.errors?.[0]?.message, status: res.status };
}

beforeAll(async () => {
  t = await startTestApp(env);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'auth' }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('tokens over HTTP', () => {
  const ME = '{ me { id } }';

  it('refuses a missing token where one is needed, and serves public fields without one', async () => {
    expect(await code(ME)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await code('mutation { enroll(courseId: "auth") { id } }')).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await code('{ courses { id } badges { id } levels { level } leaderboard { totalCount } learner(id: "x") { id } }')).code).toBeUndefined();
  });

  it('refuses an expired token, saying so', async () => {
    const expired = await tokenFor('amy', [], { nowMs: Date.now() - 3_600_000, expiresIn: 60 });
    expect(await code(ME, { authorization: `Bearer ${expired}` })).toMatchObject({ code: 'UNAUTHENTICATED', status: 401, message: 'Your token has expired; sign in again.' });
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await signToken('amy', { secret: 'not-the-server-secret-0123456789-abcdef', roles: ['admin'] });
    expect(await code(ME, { authorization: `Bearer ${forged}` })).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('refuses alg none, even claiming admin', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'amy', roles: ['admin'], exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    expect(await code('{ courses { id } }', { authorization: `Bearer ${none}` })).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await code(ME, { authorization: `Bearer ${none}` })).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses a header that is not a bearer token', async () => {
    expect(await code(ME, { authorization: 'Basic YW15OnB3' })).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses a learner acting for another learner, and lets a service do it', async () => {
    const amy = await tokenFor('amy');
    const q = 'mutation($l: ID) { enroll(courseId: "auth", learnerId: $l) { learnerId } }';
    expect(await code(q, { authorization: `Bearer ${amy}` }, { l: 'bob' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await code('mutation { completeLesson(lessonId: "auth-l1", learnerId: "bob") { xpAwarded } }', { authorization: `Bearer ${amy}` })).toMatchObject({ code: 'FORBIDDEN' });
    const service = await tokenFor('lms', ['service']);
    const res = await t.gql(q, { variables: { l: 'bob' }, token: service });
    expect(res.data!.enroll.learnerId).toBe('bob');
    // Nothing was enrolled for bob by amy's refused attempt before the service did it.
    expect(res.errors).toBeUndefined();
  });

  it('keeps catalog changes to admins', async () => {
    const q = 'mutation { setLevels(levels: [{ level: 0, minXp: 0 }]) { level } }';
    expect(await code(q)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await code(q, { authorization: `Bearer ${await tokenFor('amy', ['service'])}` })).toMatchObject({ code: 'FORBIDDEN' });
    const badge = 'mutation { upsertBadge(input: { id: "b", name: "B", criteria: { type: "xp_total", value: 1 } }) { id } }';
    expect(await code(badge, { authorization: `Bearer ${await tokenFor('amy')}` })).toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('tokens over WebSocket', () => {
  it('closes the connection with 4401 for an invalid token', async () => {
    let closed: { code: number; reason: string } | null = null;
    const client = createClient({
      url: t.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: 'Bearer not.a.token' },
      on: { closed: (e) => (closed = e as { code: number; reason: string }) },
    });
    client.subscribe({ query: 'subscription { achievementUnlocked { learnerId } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    const e = await eventually(() => closed, 5000, 'the socket to close');
    expect(e.code).toBe(4401);
    expect(e.reason).toBe('Your token is not valid.');
    await client.dispose();
  });

  it('refuses personal subscriptions without a token and serves public ones', async () => {
    const personal = await subscribe(t.wsUrl, 'subscription { achievementUnlocked { learnerId } }');
    await eventually(() => personal.errors.length > 0, 5000, 'an error');
    expect(JSON.stringify(personal.errors)).toMatch(/UNAUTHENTICATED/);
    await personal.close();
    const board = await subscribe(t.wsUrl, 'subscription { leaderboardChanged { totalCount } }');
    await board.waitFor(1);
    await board.close();
  });
});

describe('tokens on a server with JWT_AUDIENCE and JWT_ISSUER', () => {
  const scopedEnv = newTestEnv();
  const audience = 'lms-progress';
  const issuer = 'https://id.example.com';
  let scoped: TestApp;

  beforeAll(async () => {
    scoped = await startTestApp(scopedEnv, { config: { JWT_AUDIENCE: audience, JWT_ISSUER: issuer } });
  });

  afterAll(async () => {
    await scoped?.stop();
    await destroyTestEnv(scopedEnv);
  });

  async function refusalOf(token: string): Promise<string | undefined> {
    const res = await scoped.gql('{ courses { id } }', { token });
    return res.errors?.[0]?.message;
  }

  it('serves tokens for its audience from its issuer, and refuses others over HTTP', async () => {
    expect(await refusalOf(await signToken('amy', { secret: TEST_SECRET, audience, issuer }))).toBeUndefined();
    expect(await refusalOf(await signToken('amy', { secret: TEST_SECRET, audience: 'billing', issuer }))).toBe('Your token is meant for another service.');
    expect(await refusalOf(await signToken('amy', { secret: TEST_SECRET, issuer }))).toBe('Your token is meant for another service.');
    expect(await refusalOf(await signToken('amy', { secret: TEST_SECRET, audience }))).toBe('Your token comes from an issuer this service does not trust.');
  });

  it('closes a WebSocket with 4401 for a token meant for another service', async () => {
    let closed: { code: number; reason: string } | null = null;
    const token = await signToken('amy', { secret: TEST_SECRET, audience: 'billing', issuer });
    const client = createClient({
      url: scoped.wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { closed: (e) => (closed = e as { code: number; reason: string }) },
    });
    client.subscribe({ query: 'subscription { achievementUnlocked { learnerId } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    const e = await eventually(() => closed, 5000, 'the socket to close');
    expect(e).toMatchObject({ code: 4401, reason: 'Your token is meant for another service.' });
    await client.dispose();
  });
});
