import { connect } from 'node:net';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { createDatabaseIfMissing, migrate, openOrm, type Orm } from '../store/pg/orm';
import { describeTarget, onEveryMaster, probeRedis, type RedisTarget } from '../store/redis/client';
import type { ScriptedClient } from '../store/redis/scripts';
import { redactUrl } from '../logger';
import { StartupError } from './lifecycle';

/** The dependencies a server checks before it wires anything: each missing one is one clear line. */

/** @throws StartupError naming Redis (or the cluster) as configured, why it failed and what to do */
export async function checkRedis(target: RedisTarget): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    // ioredis over TLS may never settle against a port that refuses: bound the whole probe.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_DEADLINE_MS / 1000} s`)), PROBE_DEADLINE_MS);
    });
    await Promise.race([probeRedis(target), deadline]);
  } catch (err) {
    if (typeof target !== 'string') {
      throw new StartupError(
        `The Redis Cluster at ${describeTarget(target)} (REDIS_CLUSTER_NODES) is not reachable (${(err as Error).message}). ` +
          'Start it (e.g. `npm run redis:cluster -- start`), or fix REDIS_CLUSTER_NODES.',
      );
    }
    throw new StartupError(await redisUnreachable(target, err as Error));
  } finally {
    clearTimeout(timer);
  }
}

/** Longest the start-up check of Redis may take. */
const PROBE_DEADLINE_MS = 5000;

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

/** The line saying that the Redis at `url` could not be reached: why (as TCP saw it), and how to start it when it is a local one. */
export async function redisUnreachable(url: string, err: Error): Promise<string> {
  const parsed = new URL(url);
  const tls = parsed.protocol === 'rediss:';
  const host = parsed.hostname || '127.0.0.1';
  const port = Number(parsed.port || 6379);
  const why = (await tcpFailure(host, port)) ?? err.message.replace(/\.+$/, '');
  const where = `Redis is not reachable at ${describeTarget(url)} (REDIS_URL): ${why}.`;
  if (LOCAL_HOSTS.has(host) && !tls) {
    return `${where} Start one with \`redis-server --daemonize yes --port ${port}\` (or \`docker compose up -d redis\`), or point REDIS_URL at one.`;
  }
  return `${where} Check that it runs and takes connections from this machine${tls ? ' over TLS' : ''}, or point REDIS_URL at another.`;
}

/** Why a TCP connection to host:port fails (refused, no such host, no answer), or null when it opens. */
async function tcpFailure(host: string, port: number, timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    const done = (why: string | null) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer from ${host}:${port} within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') done(`nothing listens on ${host}:${port} (connection refused)`);
      else if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') done(`the host ${host} is not known`);
      else done(`${e.code ?? e.message} connecting to ${host}:${port}`);
    });
  });
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

