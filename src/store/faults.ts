import { classifyPgError, isPgUnavailable } from './pg/errors';
import { isTransientRedisError } from './redis/errors';

/**
 * Whose fault a failed batch is:
 * - `entry`: something in the batch is bad (the data): halve the batch until the bad entry is
 *   alone, and dead-letter it after `maxAttempts` tries while the rest flows;
 * - `split`: maybe one entry is stuck (a lock, a timeout): halve the batch so the rest passes,
 *   and keep retrying the stuck one, never dead-letter it;
 * - `store`: the store is down or refusing everything (connection, read-only, out of resources):
 *   leave the entries pending, pause reading, retry later; never blame the entries.
 */
export type Fault = 'entry' | 'split' | 'store';

/**
 * Whose fault a failed outbox batch is, whichever store it met: Redis unavailable is the
 * store's; a Postgres error is classified by its SQLSTATE; a script or code error blames the
 * entries.
 */
export function faultOf(err: unknown): Fault {
  return isTransientRedisError(err) ? 'store' : classifyPgError(err);
}

/**
 * Which store an error says is unavailable (so a request can answer a retryable UNAVAILABLE
 * rather than an internal error), or null when it says something else.
 */
export function unavailableStore(err: unknown): 'redis' | 'postgres' | null {
  // Postgres first: a socket error of pg carries the same errno codes that a Redis check matches.
  if (isPgUnavailable(err)) return 'postgres';
  if (isTransientRedisError(err)) return 'redis';
  return null;
}

/** An error's reason, short: a driver error's own message without the SQL it quotes. */
export function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  let message = String(e?.message ?? err);
  // knex prefixes the failed SQL: "<sql> - <reason>".
  const cut = message.lastIndexOf(' - ');
  if (cut > 0 && e?.code) message = message.slice(cut + 3);
  return (e?.code ? `${e.code}: ${message}` : message).slice(0, 500);
}
