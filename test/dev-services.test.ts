import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { StartupError } from '../src/server/lifecycle';
import { onPath, startDevServices, startDevServicesFor, type DevServices } from '../src/server/devServices';
import { eventually, freePort, makeCourse, redisAnswers, startTestApp, tokenFor, type TestApp } from './harness';

const dirs: string[] = [];
/** A fresh data directory (readable by the postgres user Postgres runs as when tests run as root). */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lms-dev-services-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function postgresAnswers(port: number): Promise<boolean> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query('SELECT 1 AS one')).rows[0].one === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('development services', () => {
  it('starts PostgreSQL and Redis where nothing answers, the app runs on them, and they stop', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const dir = dataDir();
    const lines: string[] = [];
    const postgresUrl = `postgres://postgres@127.0.0.1:${pgPort}/lms`;
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    expect(await postgresAnswers(pgPort)).toBe(false);
    let services: DevServices | null = null;
    let t: TestApp | null = null;
    try {
      services = await startDevServices({ postgresUrl, redisUrl, dataDir: dir, log: (m) => lines.push(m) });
      expect(services.started).toEqual(['postgres', 'redis']);
      expect(lines).toHaveLength(2);
      expect(await postgresAnswers(pgPort)).toBe(true);
      expect(await redisAnswers(redisPort)).toBe(true);
      expect(existsSync(join(dir, 'postgres', 'PG_VERSION'))).toBe(true);
      // Data and logs are the developer's alone.
      for (const d of ['postgres', 'redis']) expect(statSync(join(dir, d)).mode & 0o777, d).toBe(0o700);
      for (const f of ['postgres.log', 'redis.log']) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
      const redis = new Redis(redisUrl);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'dir')).toEqual(['dir', join(dir, 'redis')]);
      redis.disconnect();

      // The server runs on them as it would on the defaults: database created, migrated, a lesson paid.
      t = await startTestApp({ databaseUrl: postgresUrl, redisUrl, keyPrefix: 'dev:', redisClusterNodes: null });
      await t.app.services.catalog.upsertCourse(makeCourse({ id: 'dv', modules: 1, lessons: 1, xp: 30 }));
      const token = await tokenFor('dev-ann');
      expect((await t.gql('mutation { enroll(courseId: "dv") { id } }', { token })).errors).toBeUndefined();
      const done = await t.gql('mutation { completeLesson(lessonId: "dv-l1") { totalXp } }', { token });
      expect(done.data?.completeLesson).toEqual({ totalXp: 30 });
      await t.app.settle();
      await t.stop();
      t = null;

      // Nothing is started twice: a second start finds them answering.
      const again = await startDevServices({ postgresUrl, redisUrl, dataDir: dir, log: (m) => lines.push(m) });
      expect(again.started).toEqual([]);
      await again.stop();
    } finally {
      await t?.stop().catch(() => undefined);
      await services?.stop();
    }
    expect(await postgresAnswers(pgPort)).toBe(false);
    expect(await redisAnswers(redisPort)).toBe(false);

    // Started again on the same data: what was written is still there (Redis from its AOF too).
    const restarted = await startDevServices({ postgresUrl, redisUrl, dataDir: dir, log: () => undefined });
    try {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      const rows = (await client.query('SELECT count(*)::int AS n FROM xp_transactions')).rows as { n: number }[];
      await client.end();
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await restarted.stop();
    }
  }, 90_000);

  it('says in one line when something that is not PostgreSQL holds the port', async () => {
    const server: Server = createServer((_req, res) => res.end('hello'));
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const err = await startDevServices({ postgresUrl: `postgres://postgres@127.0.0.1:${port}/lms`, redisUrl: null, dataDir: dataDir(), log: () => undefined }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StartupError);
      expect((err as Error).message).toBe(`Something that is not PostgreSQL answers at 127.0.0.1:${port} (the default DATABASE_URL): stop it, or set DATABASE_URL.`);
      const redisErr = await startDevServices({ postgresUrl: null, redisUrl: `redis://127.0.0.1:${port}`, dataDir: dataDir(), log: () => undefined }).catch((e: unknown) => e);
      expect((redisErr as Error).message).toBe(`Something that is not Redis answers at 127.0.0.1:${port} (the default REDIS_URL): stop it, or set REDIS_URL.`);
    } finally {
      server.close();
    }
  });

  it('says in one line when Redis is needed and redis-server is not on the PATH', async () => {
    expect(onPath('redis-server', '/nonexistent')).toBeNull();
    const port = await freePort();
    const err = await startDevServices({ postgresUrl: null, redisUrl: `redis://127.0.0.1:${port}`, dataDir: dataDir(), log: () => undefined, redisServer: undefined, path: '/nonexistent' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(`Nothing answers at redis://127.0.0.1:${port} and redis-server is not on the PATH: install Redis (e.g. apt install redis-server) or set REDIS_URL.`);
  });

  it('does nothing in production or tests, nor where the URLs are set', async () => {
    const dir = dataDir();
    const unsetEnv = {};
    const production = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-0123456789-abcdefghij', PORT: '1' });
    expect(await startDevServicesFor(production, unsetEnv, dir)).toBeNull();
    expect(await startDevServicesFor(loadConfig({ NODE_ENV: 'test' }), unsetEnv, dir)).toBeNull();
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const set = { DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/lms`, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    expect(await startDevServicesFor(loadConfig({ NODE_ENV: 'development', ...set }), set, dir)).toBeNull();
    expect(await postgresAnswers(pgPort)).toBe(false);
    expect(await redisAnswers(redisPort)).toBe(false);
    expect(existsSync(join(dir, 'postgres'))).toBe(false);
  });
});

/** Whether this machine lets a test have a network of its own (root and unshare), where the default ports are free. */
const privateNetwork = process.getuid?.() === 0 && onPath('unshare') !== null && onPath('ip') !== null;

describe('npm start in development', () => {
  it.skipIf(!privateNetwork)('starts its own PostgreSQL and Redis at the default URLs, serves, and stops them on Ctrl-C', async () => {
    // In a network namespace of its own, nothing answers at 127.0.0.1:5432 or :6379.
    const dir = dataDir();
    const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
    const main = resolve('src/main.ts');
    const script = `ip link set lo up && exec ${JSON.stringify(process.execPath)} --import ${tsx} ${JSON.stringify(main)}`;
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '4000', LOG_LEVEL: 'info' };
    const child = spawn('unshare', ['-n', 'sh', '-c', script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exit = new Promise<number | null>((r) => child.on('close', r));
    try {
      await eventually(() => out.includes('"msg":"listening"') || child.exitCode !== null, 60_000, 'the server to listen');
      const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; component?: string });
      expect(lines.filter((l) => l.component === 'dev-services').map((l) => l.msg)).toEqual([
        'started an embedded PostgreSQL for development (stopped with the server)',
        'started a Redis for development (AOF on; stopped with the server)',
      ]);
      expect(existsSync(join(dir, '.data', 'postgres', 'PG_VERSION'))).toBe(true);
      expect(existsSync(join(dir, '.data', 'redis'))).toBe(true);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exit).toBe(0);
    expect(out).toContain('"msg":"stopped"');
    // Both services were stopped with it: their pids in the data directories are gone.
    await eventually(() => !existsSync(join(dir, '.data', 'postgres', 'postmaster.pid')), 10_000, 'PostgreSQL to stop');
    expect(readFileSync(join(dir, '.data', 'redis.log'), 'utf8')).toMatch(/ready to exit, bye bye/i);
  }, 90_000);
});
