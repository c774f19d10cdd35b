import type { Config } from '../config';
import type { Logger } from '../logger';
import { createDatabaseIfMissing, migrate, openOrm, type Orm } from '../store/pg/orm';
import { describeTarget, onEveryMaster, probeRedis, type RedisTarget } from '../store/redis/client';
import type { ScriptedClient } from '../store/redis/scripts';
import { redactUrl } from '../logger';
import { StartupError } from './lifecycle';

/** The dependencies a server checks before it wires anything: each missing one is one clear line. */

/** @throws StartupError naming Redis (or the cluster) and how to start it */
export async function checkRedis(target: RedisTarget): Promise<void> {
  try {
    await probeRedis(target);
  } catch (err) {
    if (typeof target !== 'string') {
      throw new StartupError(
        `The Redis Cluster at ${describeTarget(target)} is not reachable (${(err as Error).message}). ` +
          'Start it (e.g. `npm run redis:cluster -- start`), or fix REDIS_CLUSTER_NODES.',
      );
    }
    const port = new URL(target).port || '6379';
    throw new StartupError(
      `Redis is not reachable at ${describeTarget(target)} (${(err as Error).message}). Start it with ` +
        `\`redis-server --daemonize yes --port ${port}\` (or \`docker compose up -d redis\`), or point REDIS_URL at one.`,
    );
  }
}

/** Whether Redis may evict keys (any maxmemory-policy but noeviction on any master); true when it cannot tell. */
export async function mayEvict(redis: ScriptedClient, log: Logger): Promise<boolean> {
  try {
    const policies = await onEveryMaster(redis, async (node) => ((await node.config('GET', 'maxmemory-policy')) as [string, string])[1]);
    const evicting = policies.filter((p) => p !== 'noeviction');
    if (evicting.length) log.warn({ policies }, 'Redis maxmemory-policy is not noeviction: evicted outbox entries would be lost');
    return evicting.length > 0;
  } catch {
    // Managed Redis often disables CONFIG: assume it may evict.
    return true;
  }
}

/**
 * Create the database if missing and apply the migrations (one instance at a time).
 * @throws StartupError naming PostgreSQL and how to start it
 */
export async function preparePostgres(config: Config, log: Logger): Promise<Orm> {
  const url = config.databaseUrl;
  try {
    if (await createDatabaseIfMissing(url)) log.info({ database: redactUrl(url) }, 'created database');
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || /connect|timeout/i.test(e.message)) {
      throw new StartupError(
        `PostgreSQL is not reachable at ${redactUrl(url)} (${e.message}). Start it with ` +
          '`pg_ctlcluster <version> main start` (or `docker compose up -d postgres`), or point DATABASE_URL at one.',
      );
    }
    throw new StartupError(`PostgreSQL refused to prepare the database at ${redactUrl(url)}: ${e.message}`);
  }
  const ormLog = (message: string) => log.debug({ orm: message });
  const warn = (message: string) => log.warn({ component: 'postgres' }, String(message).slice(0, 500));
  // Migrations may run long: they get a pool of their own without the request timeouts.
  const migrator = await openOrm(url, { log: ormLog, warn, poolMax: 2 });
  try {
    const applied = await migrate(migrator, url);
    if (applied.length) log.info({ applied }, 'applied migrations');
  } finally {
    await migrator.close();
  }
  return openOrm(url, { log: ormLog, warn, timeouts: { queryMs: config.timeouts.pgQueryMs, connectMs: config.timeouts.pgConnectMs } });
}

