/**
 * A store that goes away: requests fail with a retryable UNAVAILABLE (HTTP 503) naming it,
 * not a masked internal error. Runs its own redis-server so it can stop it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase } from '../src/store/pg/orm';
import { eventually, freePort, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp | null = null;
let port = 0;

afterAll(async () => {
  try {
    execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' });
  } catch {
    // already stopped
  }
  await t?.app.crash();
  // The private Redis is gone with its keys; only the database is left to drop.
  await dropDatabase(env.databaseUrl);
});

describe.skipIf(!!process.env.TEST_REDIS_CLUSTER_NODES)('Redis going away', () => {
  it('turns requests into UNAVAILABLE (503, REDIS_UNAVAILABLE), with nothing half-applied', async () => {
    port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redis.unref();
    await new Promise((r) => setTimeout(r, 300));
    t = await startTestApp({ ...env, redisUrl: `redis://127.0.0.1:${port}` });
    await t.app.services.catalog.upsertCourse(makeCourse({ id: 'un', modules: 1, lessons: 2 }));
    const token = await tokenFor('un-amy');
    expect((await t.gql('mutation { enroll(courseId: "un") { id } }', { token })).errors).toBeUndefined();

    execFileSync('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { stdio: 'ignore' });
    const res = await t.app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation { completeLesson(lessonId: "un-l1") { totalXp } }' }),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'UNAVAILABLE', reason: 'REDIS_UNAVAILABLE' });
    expect(body.errors[0]!.message).toMatch(/retry/);
  }, 30_000);

  it('refuses a subscription whose first read meets the outage with UNAVAILABLE, over WebSocket and event streams, not a masked internal error', async () => {
    // Redis is shut down by the test above.
    expect(t).not.toBeNull();
    const query = 'subscription { leaderboardChanged(first: 3) { entries { rank } } }';
    const live = await subscribe(t!.wsUrl, query);
    try {
      const errors = await eventually(() => (live.errors.length ? live.errors : null), 10_000, 'the subscription error');
      const first = (Array.isArray(errors[0]) ? errors[0][0] : errors[0]) as { message: string; extensions?: Record<string, unknown> };
      expect(first.extensions).toMatchObject({ code: 'UNAVAILABLE', reason: 'REDIS_UNAVAILABLE' });
      expect(first.message).toMatch(/retry/i);
    } finally {
      await live.close();
    }

    const res = await fetch(t!.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const data = /event: next\ndata: (.*)\n/.exec(text);
    expect(data, text).not.toBeNull();
    const payload = JSON.parse(data![1]!) as { errors: { extensions: Record<string, unknown> }[] };
    expect(payload.errors[0]!.extensions).toMatchObject({ code: 'UNAVAILABLE', reason: 'REDIS_UNAVAILABLE' });
  }, 30_000);
});
