import type { Knex } from '@mikro-orm/postgresql';
import type { Logger } from '../../logger';
import type { Keys } from '../redis/keys';
import type { ScriptedClient } from '../redis/scripts';

/** How many dead letters each partition's stream keeps (the table keeps them all). */
export const DEAD_LETTER_STREAM_MAX = 10_000;

/** An entry a consumer gave up on. */
export interface DeadLetter {
  group: string;
  stream: string;
  partition: number;
  entryId: string;
  kind: string | null;
  /** The raw stream fields, as JSON: kept whatever they hold. */
  payload: string;
  error: string;
}

/**
 * Where entries go that keep failing (or cannot be read at all), so the rest of the outbox
 * flows: the partition's dead-letter stream in Redis (bounded) and the `outbox_dead_letters`
 * table. Either copy is enough to find and replay it; the table write is best effort, since
 * the entry may be what Postgres refuses.
 */
export class DeadLetters {
  /** Dead letters recorded by this process (metrics, tests). */
  count = 0;

  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    private readonly knex: Knex,
    private readonly log: Logger,
  ) {}

  async record(letter: DeadLetter): Promise<void> {
    this.count += 1;
    this.log.error(
      { group: letter.group, stream: letter.stream, entryId: letter.entryId, kind: letter.kind, error: letter.error },
      'outbox entry dead-lettered; the rest flows on',
    );
    await this.redis.xadd(
      this.keys.deadLetters(letter.partition),
      'MAXLEN',
      '~',
      DEAD_LETTER_STREAM_MAX,
      '*',
      'group',
      letter.group,
      'entry',
      letter.entryId,
      'kind',
      letter.kind ?? '',
      'payload',
      letter.payload,
      'error',
      letter.error.slice(0, 2000),
      'at',
      Date.now(),
    );
    try {
      await this.knex.raw(
        `insert into outbox_dead_letters (consumer_group, stream, entry_id, kind, payload, error)
         values (?, ?, ?, ?, ?, ?) on conflict (consumer_group, stream, entry_id) do nothing`,
        [letter.group, letter.stream, letter.entryId, letter.kind, Buffer.from(letter.payload, 'utf8'), letter.error.slice(0, 2000)],
      );
    } catch (err) {
      this.log.warn({ err: (err as Error).message, entryId: letter.entryId }, 'dead letter kept in Redis only: the table refused it');
    }
  }

  /** Dead letters in Redis, over every partition. */
  async total(): Promise<number> {
    const lengths = await Promise.all(this.keys.allPartitions().map((p) => this.redis.xlen(this.keys.deadLetters(p))));
    return lengths.reduce((a, b) => a + b, 0);
  }
}
