/**
 * Whether a Postgres error says the database is unavailable (down, restarting, overloaded,
 * a lock timeout) rather than that the data is bad. Transient errors are retried until they
 * pass; anything else is blamed on the entries (and isolated), since retrying cannot fix it.
 */
export function isTransientPgError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? '';
  // 08: connection exception; 53: insufficient resources; 57P0x: shutting down; 57014: statement
  // timeout or cancel; 40001/40P01: serialization failure, deadlock; 55P03: lock not available.
  if (/^(08|53|57P0)/.test(code) || ['57014', '40001', '40P01', '55P03'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection terminated|timeout acquiring a connection|connect ECONNREFUSED|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(
    e.message ?? '',
  );
}
