import { afterAll, describe, expect, it } from 'vitest';
import { Keys } from '../src/store/redis/keys';
import { destroyTestEnv, newTestEnv, startTestApp, testRedis, type TestApp, type TestEnv } from './harness';

const envs: TestEnv[] = [];
const apps: TestApp[] = [];

afterAll(async () => {
  for (const a of apps) await a.stop().catch(() => undefined);
  for (const e of envs) await destroyTestEnv(e);
});

describe('start-up of a deployment', () => {
  it('applies the migrations once when several instances start together on a new database', async () => {
    const env = newTestEnv();
    envs.push(env);
    apps.push(...(await Promise.all([1, 2, 3].map(() => startTestApp(env)))));
    const rows = (await apps[0]!.app.orm.em.getKnex()('mikro_orm_migrations').select('name')) as { name: string }[];
    expect(rows.map((r) => r.name).sort()).toEqual(['Migration20261122000000_core', 'Migration20261122120000_write_path', 'Migration20261123000000_epochs', 'Migration20261123010000_watermarks', 'Migration20261124000000_quizAttempts', 'Migration20261125000000_watchTime', 'Migration20261126000000_certificates', 'Migration20261126120000_activity', 'Migration20261127000000_watchBigint', 'Migration20261128000000_periodBoards', 'Migration20261128000000_profiles', 'Migration20261128120000_goals']);
  });

  it('refuses, in one line, to start with another PARTITIONS than the deployment was made with', async () => {
    const env = newTestEnv();
    envs.push(env);
    const first = await startTestApp(env);
    await first.stop();
    await expect(startTestApp(env, { config: { PARTITIONS: '8' } })).rejects.toThrow(
      /^PARTITIONS is 8, but this deployment was created with 16 \(recorded in PostgreSQL\); the partition count cannot change/,
    );
    // The same count starts fine.
    apps.push(await startTestApp(env));
  });

  it('records nothing when it refuses: a new database beside a Redis made with 64 refuses 32, then takes 64', async () => {
    const env = newTestEnv();
    envs.push(env);
    const first = await startTestApp(env, { config: { PARTITIONS: '64' } });
    await first.stop();
    // Postgres is new (its database dropped), Redis still holds the deployment's record.
    const { dropDatabase } = await import('../src/store/pg/orm');
    await dropDatabase(env.databaseUrl);
    await expect(startTestApp(env, { config: { PARTITIONS: '32' } })).rejects.toThrow(/created with 64 \(recorded in Redis\)/);
    apps.push(await startTestApp(env, { config: { PARTITIONS: '64' } }));
  });

  it('refuses to start while rebuild-cache holds its lock', async () => {
    const env = newTestEnv();
    envs.push(env);
    const first = await startTestApp(env);
    await first.app.redis.set(first.app.keys.rebuilding(), 'rebuild-cache:test', 'PX', 10_000);
    await first.stop();
    await expect(startTestApp(env)).rejects.toThrow(/^rebuild-cache is running \(rebuild-cache:test\); start the server when it has finished\./);
    const redis = testRedis();
    await redis.connect();
    await redis.del(new Keys(env.keyPrefix, 16).rebuilding());
    redis.disconnect();
    apps.push(await startTestApp(env));
  });
});

