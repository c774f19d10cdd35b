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

/** Connect MikroORM to the database (entities defined without decorators). */
export async function openOrm(databaseUrl: string, options: { poolMax?: number; log?: (message: string) => void } = {}): Promise<Orm> {
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
    pool: { min: 0, max: options.poolMax ?? 10 },
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
