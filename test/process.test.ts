import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/domain/auth/tokens';
import { openOrm } from '../src/store/pg/orm';
import { destroyTestEnv, eventually, freePort, newTestEnv, redisEnvOf, TEST_SECRET } from './harness';

const children: ChildProcess[] = [];

/** The real entry point, started the way `npm start` does (tsx), without npm's own output. */
function startServer(env: Record<string, string>): { child: ChildProcess; stdout: () => string; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

const env = newTestEnv();

afterAll(async () => {
  // A server a failed test left running would write to the env after it is gone.
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  await destroyTestEnv(env);
});

describe('start-up without its stores', () => {
  it('prints one line naming Redis and how to start it, and exits 1', async () => {
    const server = startServer({ REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: env.databaseUrl, JWT_SECRET: TEST_SECRET, PORT: '0' });
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Redis is not reachable at redis:\/\/127\.0\.0\.1:1.*redis-server/);
  }, 30_000);

  it('prints one line naming PostgreSQL and how to start it, and exits 1', async () => {
    const server = startServer({ DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/lms', ...redisEnvOf(env), JWT_SECRET: TEST_SECRET, PORT: '0' });
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^PostgreSQL is not reachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/lms.*pg_ctlcluster/);
    expect(lines[0]).not.toMatch(/secret/);
  }, 30_000);
});

describe('SIGTERM', () => {
  it('finishes in-flight requests, drains the outbox to Postgres, closes sockets and exits 0', async () => {
    const port = await freePort();
    // No background flusher: everything must reach Postgres through the drain at shutdown.
    const server = startServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: env.databaseUrl,
      ...redisEnvOf(env),
      KEY_PREFIX: env.keyPrefix,
      JWT_SECRET: TEST_SECRET,
      FLUSHER: 'false',
      DEMO_CATALOG: 'true',
      LOG_LEVEL: 'info',
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok, 30_000, 'the server to listen');

    const token = await signToken('term-amy', { secret: TEST_SECRET });
    // Keep-alive sockets opened up front, so requests below go out on established connections.
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const post = (query: string) =>
      new Promise<{ data?: any; errors?: unknown[] }>((resolve, reject) => {
        const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(JSON.parse(body)));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ query }));
      });
    await Promise.all(Array.from({ length: 16 }, () => post('{ levels { level } }')));
    // The demo catalog was loaded on the empty database.
    const catalog = await post('{ courses { id modules { id lessons { id kind } quizzes { id } } } badges { id } }');
    expect(catalog.data.courses.length).toBeGreaterThanOrEqual(3);
    for (const c of catalog.data.courses) expect(c.modules.length).toBeGreaterThanOrEqual(2);
    const kinds = new Set(catalog.data.courses.flatMap((c: any) => c.modules.flatMap((m: any) => m.lessons.map((l: any) => l.kind))));
    expect(kinds).toEqual(new Set(['VIDEO', 'READING', 'CHALLENGE']));
    expect(catalog.data.badges.length).toBeGreaterThanOrEqual(4);

    expect((await post('mutation { enroll(courseId: "ts-foundations") { id } }')).errors).toBeUndefined();
    const lessons: string[] = catalog.data.courses[0].modules.flatMap((m: any) => m.lessons.map((l: any) => l.id));
    // Send every completion, then SIGTERM before the answers are in.
    const inFlight = lessons.map((id) => post(`mutation { completeLesson(lessonId: "${id}") { totalXp } }`));
    await new Promise((r) => setTimeout(r, 2));
    server.child.kill('SIGTERM');
    const answers = await Promise.all(inFlight);
    for (const a of answers) expect(a.errors).toBeUndefined();
    expect(await server.exited).toBe(0);
    expect(server.stdout()).toMatch(/draining the outbox/);

    // Everything the server answered is in Postgres.
    const orm = await openOrm(env.databaseUrl);
    try {
      const knex = orm.em.getKnex();
      const progress = await knex('lesson_progress').where({ learner_id: 'term-amy' });
      expect(progress).toHaveLength(lessons.length);
      const snapshot = await knex('learners').where({ id: 'term-amy' }).first();
      const finalTotal = Math.max(...answers.map((a) => a.data.completeLesson.totalXp));
      expect(Number(snapshot.total_xp)).toBe(finalTotal);
      const ledger = (await knex('xp_transactions').where({ learner_id: 'term-amy' })) as { amount: number }[];
      expect(ledger.reduce((sum, r) => sum + Number(r.amount), 0)).toBe(finalTotal);
    } finally {
      await orm.close();
    }
    agent.destroy();
    // Refuses new connections once stopped.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 60_000);
});
