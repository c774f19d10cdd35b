import type { Fault } from '../faults';

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
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|EAI_AGAIN|Connection terminated|connection error|timeout acquiring a connection|Unable to acquire a connection|pool is probably full|the database system is/i.test(
    e.message ?? '',
  )) {
    return 'store';
  }
  return 'entry';
}

