/**
 * The outbox as an operator sees it: /ready reports dead letters and a stuck write-behind,
 * and a full outbox refuses new changes cleanly instead of exhausting Redis.
 */
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp, type TestEnv } from './harness';

const envs: TestEnv[] = [];
const apps: TestApp[] = [];

afterAll(async () => {
  for (const a of apps) await a.stop().catch(() => undefined);
  for (const e of envs) await destroyTestEnv(e);
});

async function start(config: Record<string, string>): Promise<TestApp> {
  const env = newTestEnv();
  envs.push(env);
  const t = await startTestApp(env, { config });
  apps.push(t);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'ob', modules: 1, lessons: 6, xp: 10 }));
  return t;
}

async function ready(t: TestApp): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${t.port}/ready`);
  return { status: res.status, body: await res.json() };
}

const COMPLETE = 'mutation($x: ID!) { completeLesson(lessonId: $x) { totalXp } }';

describe('/ready', () => {
  it('says ready with the dead-letter count after a poison entry went to the dead letters, the rest written', async () => {
    const t = await start({});
    const token = await tokenFor('rd-amy');
    await t.gql('mutation { enroll(courseId: "ob") { id } }', { token });
    await t.app.redis.xadd(t.app.keys.outbox(t.app.keys.partitionOf('rd-amy')), '*', 'k', 'lesson_completed', 'j', '{"not":"an entry"}');
    await t.gql(COMPLETE, { variables: { x: 'ob-l1' }, token });
    await t.app.settle();
    await t.app.monitor.check();
    const r = await ready(t);
    expect(r.status).toBe(200);
    // Each consumer group (Postgres writer, boards) gave up on it on its own.
    expect(r.body).toMatchObject({ status: 'ready', redis: 'up', postgres: 'up', outbox: { deadLetters: 2 } });
    expect(await t.app.learnerRepo.ledgerTotal('rd-amy')).toBe(10);
  });

  it('says 503 with the lag while the write-behind does not move', async () => {
    const t = await start({ FLUSHER: 'false', READY_MAX_LAG_MS: '300' });
    const token = await tokenFor('rd-ben');
    await t.gql('mutation { enroll(courseId: "ob") { id } }', { token });
    await new Promise((r) => setTimeout(r, 500));
    await t.app.monitor.check();
    const r = await ready(t);
    expect(r.status).toBe(503);
    expect(r.body.status).toBe('not ready');
    expect(r.body.reasons).toEqual([expect.stringMatching(/^flusher lagging/)]);
    expect(r.body.outbox.groups.flusher.backlog).toBe(1);
    expect(r.body.outbox.groups.flusher.oldestAgeMs).toBeGreaterThanOrEqual(300);
  });
});

describe('/ready on a read-only Postgres', () => {
  it('says 503 "postgres read-only" (a failover onto a standby answers reads but no write)', async () => {
    const t = await start({});
    const db = new URL(t.env.databaseUrl).pathname.slice(1);
    const admin = new pg.Client({ connectionString: t.env.databaseUrl });
    await admin.connect();
    try {
      await admin.query(`alter database "${db}" set default_transaction_read_only = on`);
      // As in a failover: every connection of the server goes, the new ones see the setting.
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db]);
      const r = await eventually(async () => {
        const got = await ready(t);
        return got.body.postgres === 'read-only' ? got : null;
      }, 5000, 'the ping to see the standby');
      expect(r.status).toBe(503);
      expect(r.body.reasons).toEqual(['postgres read-only']);
    } finally {
      await admin.query(`alter database "${db}" reset default_transaction_read_only`).catch(() => undefined);
      await admin.end();
    }
  });
});

describe('a full outbox', () => {
  it('refuses new changes with a retryable UNAVAILABLE, changing nothing, until the write-behind catches up', async () => {
    const t = await start({ FLUSHER: 'false', PROJECTOR: 'false', OUTBOX_MAX_ENTRIES: '4', OUTBOX_WARN_ENTRIES: '2' });
    const token = await tokenFor('full-amy');
    await t.gql('mutation { enroll(courseId: "ob") { id } }', { token });
    for (const x of ['ob-l1', 'ob-l2', 'ob-l3']) expect((await t.gql(COMPLETE, { variables: { x }, token })).errors).toBeUndefined();
    await t.app.monitor.check();

    const res = await t.app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: COMPLETE, variables: { x: 'ob-l4' } }),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'UNAVAILABLE', reason: 'OUTBOX_FULL' });
    expect(body.errors[0]!.message).toMatch(/retry/);
    const batch = await t.gql('mutation { recordEvents(events: [{ id: "f1", type: LESSON_COMPLETED, lessonId: "ob-l5", occurredAt: "2026-11-22T10:00:00Z" }]) { accepted } }', { token });
    expect(batch.errors![0]!.extensions!.code).toBe('UNAVAILABLE');
    expect((await t.gql('{ me { totalXp } }', { token })).data!.me.totalXp).toBe(30);
    expect((await ready(t)).body.reasons).toContain('outbox full');

    // The write-behind comes back: the outbox drains and trims, and writes are taken again.
    await t.app.flusher.start();
    await t.app.projector.start();
    await t.app.settle();
    await t.app.monitor.check();
    expect((await t.gql(COMPLETE, { variables: { x: 'ob-l4' }, token })).data!.completeLesson.totalXp).toBe(40);
  });
});
