import type { Knex } from '@mikro-orm/postgresql';
import type { Keys } from './redis/keys';
import type { ScriptedClient } from './redis/scripts';

/** A setting changed since the deployment was made; `message` is the one line to print. */
export class DeploymentMismatch extends Error {}

/**
 * The partition count is fixed for the life of a deployment: learners' keys and outbox streams
 * are placed by it, so changing it would orphan outbox streams and strand learners. It is
 * recorded in Postgres and Redis on first start and checked at every start.
 * @throws DeploymentMismatch when PARTITIONS differs from what was recorded
 */
export async function checkPartitions(knex: Knex, redis: ScriptedClient, keys: Keys): Promise<void> {
  const wanted = String(keys.partitions);
  // Compare with what is recorded before recording anything: a refused start must not leave
  // its own value behind (it would then refuse the right one).
  const refuseIfOther = async () => {
    const row = (await knex('deployment_settings').where({ key: 'partitions' }).first()) as { value: string } | undefined;
    const inRedis = await redis.hget(keys.deployment(), 'partitions');
    for (const [where, recorded] of [['PostgreSQL', row?.value], ['Redis', inRedis]] as const) {
      if (recorded != null && recorded !== wanted) {
        throw new DeploymentMismatch(
          `PARTITIONS is ${wanted}, but this deployment was created with ${recorded} (recorded in ${where}); ` +
            'the partition count cannot change, set PARTITIONS back to it.',
        );
      }
    }
  };
  await refuseIfOther();
  await knex.raw(`insert into deployment_settings (key, value) values ('partitions', ?) on conflict (key) do nothing`, [wanted]);
  await redis.hsetnx(keys.deployment(), 'partitions', wanted);
  // Two first starts with different counts at once: whichever recorded first wins, the other is refused.
  await refuseIfOther();
}
