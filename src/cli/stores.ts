import type { Knex } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { checkPartitions } from '../store/deployment';
import { migrate, openOrm, type Orm } from '../store/pg/orm';
import { createRedis, describeTarget, failFastOptions, redisTargetOf } from '../store/redis/client';
import { Keys } from '../store/redis/keys';
import type { ScriptedClient } from '../store/redis/scripts';

/** How many times the server's store timeouts a command-line tool waits. */
export const CLI_TIMEOUT_FACTOR = 10;

/** The stores a command-line tool works on, connected like the server's. */
export interface CliStores {
  redis: ScriptedClient;
  orm: Orm;
  knex: Knex;
  keys: Keys;
  close(): Promise<void>;
}

/**
 * Connect to the Redis and Postgres the config names (migrating when asked) and check the
 * deployment's partition count, or print one line saying why not and exit with `exitCode`.
 * `verb` starts that line ("Cannot rebuild: ...").
 */
export async function connectStores(config: Config, options: { verb: string; exitCode: number; migrate?: boolean }): Promise<CliStores> {
  // A tool waits longer than a request (its commands and statements are bigger), but never for
  // ever on a frozen store: CLI_TIMEOUT_FACTOR times the server's timeouts, connecting as fast.
  const t = config.timeouts;
  const redis = createRedis(redisTargetOf(config), failFastOptions({ commandMs: t.redisCommandMs * CLI_TIMEOUT_FACTOR, connectMs: t.redisConnectMs }));
  redis.on('error', () => undefined);
  let orm: Orm;
  try {
    await redis.connect();
    orm = await openOrm(config.databaseUrl, { timeouts: { queryMs: t.pgQueryMs * CLI_TIMEOUT_FACTOR, connectMs: t.pgConnectMs } });
    if (options.migrate) await migrate(orm, config.databaseUrl);
  } catch (err) {
    console.error(`Cannot ${options.verb}: ${(err as Error).message.replace(/\.$/, '')}. Are Redis (${describeTarget(redisTargetOf(config))}) and PostgreSQL up?`);
    process.exit(options.exitCode);
  }
  const keys = new Keys(config.keyPrefix, config.partitions);
  const knex = orm.em.getKnex();
  try {
    await checkPartitions(knex, redis, keys);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(options.exitCode);
  }
  return {
    redis,
    orm,
    knex,
    keys,
    async close() {
      await redis.quit().catch(() => undefined);
      await orm.close();
    },
  };
}
