/**
 * Which store an error blames, with errors the real drivers raise: a request that meets one
 * answers UNAVAILABLE naming the right store.
 */
import { createServer, type Socket } from 'node:net';
import { knex } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/harness';
import { faultOf, unavailableStore } from './faults';
import { openOrm } from './pg/orm';
import { createRedis, failFastOptions } from './redis/client';

const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A loopback port that accepts connections and never says anything (a frozen server). */
async function silentServer(): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket.on('error', () => undefined)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return (server.address() as { port: number }).port;
}

async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => undefined);
});

describe('unavailableStore with real driver errors', () => {
  it('blames Postgres for a refused pg connection (whose errno a Redis check would also match)', async () => {
    const port = await freePort();
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    const err = await errorOf(() => client.connect());
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(unavailableStore(err)).toBe('postgres');
    expect(faultOf(err)).toBe('store');
  });

  it('blames Postgres for a refused connection through knex, as requests meet it', async () => {
    const port = await freePort();
    const db = knex({ client: 'pg', connection: `postgres://postgres@127.0.0.1:${port}/x`, acquireConnectionTimeout: 2000, pool: { min: 0, max: 1 } });
    closers.push(() => db.destroy());
    const err = await errorOf(() => db.raw('select 1'));
    expect(unavailableStore(err)).toBe('postgres');
  });

  it('blames Postgres for a read-only database, and nobody for a bad statement', async () => {
    const client = new pg.Client({ connectionString: `${PG_BASE}/postgres` });
    await client.connect();
    closers.push(() => client.end());
    await client.query('BEGIN READ ONLY');
    const readOnly = await errorOf(() => client.query('CREATE TEMP TABLE faults_probe (x int)'));
    await client.query('ROLLBACK');
    expect((readOnly as { code?: string }).code).toBe('25006');
    expect(unavailableStore(readOnly)).toBe('postgres');
    const syntax = await errorOf(() => client.query('SELEC 1'));
    expect(unavailableStore(syntax)).toBeNull();
    expect(faultOf(syntax)).toBe('store');
  });

  it('blames Redis for a command on a Redis that is not there', async () => {
    const port = await freePort();
    const redis = createRedis(`redis://127.0.0.1:${port}`);
    redis.on('error', () => undefined);
    closers.push(async () => redis.disconnect());
    await redis.connect().catch(() => undefined);
    const err = await errorOf(() => redis.get('x'));
    expect(unavailableStore(err)).toBe('redis');
    expect(faultOf(err)).toBe('store');
  });

  it('blames Redis for a command on a Redis that never answers (frozen), within the command timeout', async () => {
    const silent = await silentServer();
    const redis = createRedis(`redis://127.0.0.1:${silent}`, failFastOptions({ commandMs: 200, connectMs: 200 }));
    redis.on('error', () => undefined);
    closers.push(async () => redis.disconnect());
    const started = Date.now();
    const err = await errorOf(() => redis.get('x'));
    expect((err as Error).message).toBe('Command timed out');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(unavailableStore(err)).toBe('redis');
    expect(faultOf(err)).toBe('store');
  });

  it('blames Redis when the offline queue is off and the connection is not up', async () => {
    const port = await freePort();
    const redis = createRedis(`redis://127.0.0.1:${port}`, { enableOfflineQueue: false, retryStrategy: () => null });
    redis.on('error', () => undefined);
    closers.push(async () => redis.disconnect());
    const err = await errorOf(() => redis.get('x'));
    expect((err as Error).message).toMatch(/Stream isn't writeable and enableOfflineQueue options is false|Connection is closed/);
    expect(unavailableStore(err)).toBe('redis');
  });

  it('blames Postgres for a server that accepts but never answers (connect timeout), through knex', async () => {
    const silent = await silentServer();
    const db = knex({ client: 'pg', connection: { host: '127.0.0.1', port: silent, user: 'postgres', database: 'x', connectionTimeoutMillis: 200 }, acquireConnectionTimeout: 2000, pool: { min: 0, max: 1 } });
    closers.push(() => db.destroy());
    const started = Date.now();
    const err = await errorOf(() => db.raw('select 1'));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(unavailableStore(err)).toBe('postgres');
    expect(faultOf(err)).toBe('store');
  });

  it('blames Postgres for a pool with no free connection (knex acquire timeout)', async () => {
    const db = knex({ client: 'pg', connection: `${PG_BASE}/postgres`, acquireConnectionTimeout: 200, pool: { min: 0, max: 1 } });
    closers.push(() => db.destroy());
    const trx = await db.transaction();
    try {
      const err = await errorOf(() => db.raw('select 1'));
      expect((err as Error).message).toMatch(/Timeout acquiring a connection/);
      expect(unavailableStore(err)).toBe('postgres');
    } finally {
      await trx.rollback();
    }
  });

  it("blames Postgres for statement_timeout (57014) and for the client's own read timeout, through MikroORM too", async () => {
    const orm = await openOrm(`${PG_BASE}/postgres`, { timeouts: { queryMs: 100, connectMs: 1000 }, poolMax: 2 });
    closers.push(() => orm.close());
    const server = await errorOf(() => orm.em.getConnection().execute('select pg_sleep(1)'));
    expect((server as { code?: string }).code).toBe('57014');
    expect(unavailableStore(server)).toBe('postgres');
    expect(faultOf(server)).toBe('split');
    const client = new pg.Client({ connectionString: `${PG_BASE}/postgres`, query_timeout: 100 });
    await client.connect();
    closers.push(() => client.end());
    const read = await errorOf(() => client.query('select pg_sleep(0.5)'));
    expect((read as Error).message).toBe('Query read timeout');
    expect(unavailableStore(read)).toBe('postgres');
    expect(faultOf(read)).toBe('store');
    // The pool still serves after a timeout.
    expect(await orm.em.getConnection().execute('select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('blames nobody for an error of our own code', () => {
    expect(unavailableStore(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeNull();
  });
});
