import type { Fault } from '../faults';

/**
 * What pg and knex say when the server cannot be reached, a connection broke or the pool is dry,
 * or the server did not answer in time: pg's "Connection terminated (due to connection
 * timeout)", "timeout expired" (connectionTimeoutMillis) and "Query read timeout"
 * (query_timeout), knex's "Timeout acquiring a connection".
 */
const CONNECTION_TROUBLE =
  /Connection terminated|connection error|timeout acquiring a connection|Unable to acquire a connection|pool is probably full|the database system is|(^| - )timeout expired$|Query read timeout/i;

/**
 * What a Postgres error says about the entries that met it. Only data and integrity errors
 * (SQLSTATE classes 22 and 23) and errors of our own code blame the entries: retrying cannot
 * fix them. Lock and statement timeouts may come from one row another transaction holds: split
 * the batch so the rest passes, but never give up on an entry for them. Everything else (the
 * server down, restarting, read-only after a failover, out of resources, a missing table or
 * privilege) is the store's fault: retry later, never dead-letter.
 */
export function classifyPgError(err: unknown): Fault {
  const e = err as { code?: string; message?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^(22|23)[0-9A-Z]{3}$/.test(code)) return 'entry';
  if (['57014', '55P03', '40001', '40P01'].includes(code)) return 'split';
  if (code) return 'store';
  // No SQLSTATE: a connection problem, or a bug of ours on this entry.
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN/.test(e.message ?? '') || CONNECTION_TROUBLE.test(e.message ?? '')) {
    return 'store';
  }
  return 'entry';
}

/**
 * Whether a Postgres error says the database cannot be used right now (a request answers a
 * retryable UNAVAILABLE): a connection or resource SQLSTATE, read-only after a failover, a
 * statement or lock timeout, a database that refuses connections, is gone or refuses the login, the driver's own connection messages, or a socket error of the
 * driver (a Node socket error names its system call: ioredis never hands one to a command, it
 * reports a lost Redis as "Connection is closed" or MaxRetriesPerRequestError).
 */
export function isPgUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string; syscall?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  // 55000: the database does not accept connections (ALLOW_CONNECTIONS false); 3D000: it does not
  // exist (dropped, or a wrong URL); 28000/28P01: the server refuses the credentials.
  if (/^(08|53|57P0)/.test(code) || ['25006', '57014', '55P03', '55000', '3D000', '28000', '28P01'].includes(code)) return true;
  if (e.syscall && /^E[A-Z]+$/.test(code)) return true;
  return CONNECTION_TROUBLE.test(e.message ?? '');
}
