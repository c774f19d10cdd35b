import type { Knex } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { faultOf } from '../store/faults';
import { OutboxConsumer, type ConsumerOptions, type EntryHandler } from '../store/outbox/consumer';
import type { DeadLetters } from '../store/outbox/deadletters';
import { GROUPS } from '../store/outbox/groups';
import { writeEntries, type BehindReason } from '../store/outbox/postgres/write';
import type { Keys } from '../store/redis/keys';
import type { ScriptedClient } from '../store/redis/scripts';

/** What every outbox consumer of a process shares. */
export interface ConsumerDeps {
  redis: ScriptedClient;
  keys: Keys;
  deadLetters: DeadLetters;
  log: Logger;
  /** This process's consumer name (its membership name). */
  name: string;
  config: Config;
}

/**
 * The Postgres writer: consumer group `flusher`, two batches in flight (one prepares while one
 * commits). `onBehind` hears of the learners a batch showed Redis to be behind Postgres for
 * (after the batch committed); they are logged at least.
 */
export function postgresWriter(
  deps: ConsumerDeps,
  knex: Knex,
  overrides?: Partial<ConsumerOptions>,
  onBehind: (learners: Map<string, BehindReason>) => void = (learners) =>
    deps.log.warn({ learners: [...learners].slice(0, 20) }, 'Redis is behind Postgres for these learners: run npm run verify -- --repair'),
): OutboxConsumer {
  const { config } = deps;
  return consumer(
    deps,
    'flusher',
    async (entries) => {
      const written = await writeEntries(knex, entries, config.flusher.statementTimeoutMs);
      if (written.behind.size > 0) onBehind(written.behind);
    },
    {
      group: GROUPS.postgres,
      batchSize: config.flusher.batchSize,
      concurrency: 2,
      minIntervalMs: config.flusher.intervalMs,
      claimIdleMs: config.flusher.claimIdleMs,
      ...overrides,
    },
  );
}

/** The board projection: consumer group `boards`, read as soon as a doorbell rings. */
export function boardProjector(deps: ConsumerDeps, handler: EntryHandler, overrides?: Partial<ConsumerOptions>): OutboxConsumer {
  return consumer(deps, 'projector', handler, {
    group: GROUPS.boards,
    batchSize: 500,
    concurrency: 1,
    minIntervalMs: 0,
    claimIdleMs: Math.min(deps.config.flusher.claimIdleMs, 5000),
    ...overrides,
  });
}

function consumer(deps: ConsumerDeps, component: string, handler: EntryHandler, options: Partial<ConsumerOptions> & Pick<ConsumerOptions, 'group'>): OutboxConsumer {
  const { config } = deps;
  return new OutboxConsumer(deps.redis, deps.keys, deps.deadLetters, deps.log.child({ component }), handler, {
    name: deps.name,
    memberTtlMs: config.memberTtlMs,
    batchSize: config.flusher.batchSize,
    concurrency: 1,
    minIntervalMs: 0,
    sweepMs: config.outbox.sweepMs,
    claimIdleMs: config.flusher.claimIdleMs,
    maxAttempts: config.flusher.maxAttempts,
    classify: faultOf,
    ...options,
  });
}
