import type { Knex } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { checkPartitions } from '../store/deployment';
import { migrate, openOrm, type Orm } from '../store/pg/orm';
import { createRedis, describeTarget, redisTargetOf } from '../store/redis/client';
import { Keys } from '../store/redis/keys';
import type { ScriptedClient } from '../store/redis/scripts';

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
  const redis = createRedis(redisTargetOf(config));
  redis.on('error', () => undefined);
  let orm: Orm;
  try {
    await redis.connect();
    orm = await openOrm(config.databaseUrl);
    if (options.migrate) await migrate(orm, config.databaseUrl);
  } catch (err) {
    console.error(`Cannot ${options.verb}: ${(err as Error).message}. Are Redis (${describeTarget(redisTargetOf(config))}) and PostgreSQL up?`);
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
