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
