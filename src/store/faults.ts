import type { Fault } from './outbox/consumer';
import { classifyPgError } from './pg/errors';
import { isTransientRedisError } from './redis/errors';

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
  if (isTransientRedisError(err)) return 'redis';
  const e = err as { code?: string; message?: string };
  if (/^(08|53|57P0)/.test(e.code ?? '') || ['25006', '57014', '55P03'].includes(e.code ?? '')) return 'postgres';
  if (/Connection terminated|timeout acquiring a connection|the database system is|connect ECONNREFUSED 127\.0\.0\.1:5432/i.test(e.message ?? '')) return 'postgres';
  return null;
}
