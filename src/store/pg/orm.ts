import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { migrationsList } from '../../../migrations';
import { entities } from './entities';

export type Orm = MikroORM;

/** Split a postgres URL into the database name and a URL of the maintenance database. */
function maintenanceUrl(databaseUrl: string): { name: string; adminUrl: string } {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
  url.pathname = '/postgres';
  return { name, adminUrl: url.toString() };
}

/**
 * Create the database named in `databaseUrl` when it does not exist.
 * @throws the connection error when Postgres is not reachable
 */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<boolean> {
  const { name, adminUrl } = maintenanceUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`create database ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      // Another process created it between the check and the create: duplicate_database, or,
      // when both creates ran at once, a unique violation on pg_database itself.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
      return false;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Drop a database (tests). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { name, adminUrl } = maintenanceUrl(databaseUrl);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

/** How long a request may wait on Postgres (see `PG_QUERY_TIMEOUT_MS`, `PG_CONNECT_TIMEOUT_MS`). */
export interface PgTimeouts {
  /** The server's `statement_timeout`; the client gives up {@link CLIENT_GRACE_MS} later. */
  queryMs: number;
  /** Opening a connection (pg `connectionTimeoutMillis`), and waiting for one from the pool. */
  connectMs: number;
}

/**
 * How much longer than `statement_timeout` the client waits for an answer before it gives up
 * on a server that says nothing at all (frozen, or cut off without a reset): a slow statement
 * on a live server ends with the server's own error first (SQLSTATE 57014).
 */
export const CLIENT_GRACE_MS = 500;

export interface OrmOptions {
  poolMax?: number;
  /** MikroORM's own lines (the migrator's progress). */
  log?: (message: string) => void;
  /** knex's warnings and errors ("Connection Error: ..." when a pooled connection broke); console when unset. */
  warn?: (message: string) => void;
  /** Statement and connect timeouts; none when unset (migrations, the CLIs' long reads). */
  timeouts?: PgTimeouts;
}

/**
 * Whether a pooled pg connection may be handed out: a connection whose last query the client
 * gave up on (the server never answered) still has it in flight and would queue the next
 * query behind it; the pool drops it and opens a fresh one instead.
 */
function idle(connection: unknown): boolean {
  return (connection as { readyForQuery?: boolean }).readyForQuery === true;
}

/** Connect MikroORM to the database (entities defined without decorators). */
export async function openOrm(databaseUrl: string, options: OrmOptions = {}): Promise<Orm> {
  const timeouts = options.timeouts;
  const warn = options.warn;
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: options.poolMax ?? 10, ...(timeouts ? { validate: idle } : {}) },
    driverOptions: {
      ...(timeouts
        ? {
            connection: {
              statement_timeout: timeouts.queryMs,
              query_timeout: timeouts.queryMs + CLIENT_GRACE_MS,
              connectionTimeoutMillis: timeouts.connectMs,
            },
            acquireConnectionTimeout: timeouts.connectMs,
          }
        : {}),
      ...(warn ? { log: { warn, error: warn, deprecate: warn, debug: () => undefined } } : {}),
    },
    debug: false,
    // MikroORM's own lines (the migrator's progress) go to our logger, not to stdout.
    logger: options.log ?? (() => undefined),
    allowGlobalContext: false,
  });
}

/** Advisory lock key serialising migrations (any fixed 64-bit number; this is "lms-migr"). */
const MIGRATION_LOCK = '7813007069737372';

/**
 * Apply every pending migration, one instance at a time: the others wait on a Postgres
 * advisory lock, then find nothing left to apply.
 * @returns the names applied
 */
export async function migrate(orm: Orm, databaseUrl: string): Promise<string[]> {
  const lock = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}
