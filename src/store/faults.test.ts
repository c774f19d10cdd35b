/**
 * Which store an error blames, with errors the real drivers raise: a request that meets one
 * answers UNAVAILABLE naming the right store.
 */
import { createServer } from 'node:net';
import { knex } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { faultOf, unavailableStore } from './faults';
import { createRedis } from './redis/client';

const PG_BASE = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
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
    const port = await closedPort();
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    const err = await errorOf(() => client.connect());
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(unavailableStore(err)).toBe('postgres');
    expect(faultOf(err)).toBe('store');
  });

  it('blames Postgres for a refused connection through knex, as requests meet it', async () => {
    const port = await closedPort();
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
    const port = await closedPort();
    const redis = createRedis(`redis://127.0.0.1:${port}`);
    redis.on('error', () => undefined);
    closers.push(async () => redis.disconnect());
    await redis.connect().catch(() => undefined);
    const err = await errorOf(() => redis.get('x'));
    expect(unavailableStore(err)).toBe('redis');
    expect(faultOf(err)).toBe('store');
  });

  it('blames nobody for an error of our own code', () => {
    expect(unavailableStore(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBeNull();
  });
});
