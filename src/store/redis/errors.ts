/**
 * Whether a Redis error says Redis is unavailable (connection lost, loading, failing over)
 * rather than that a script refused the input. Transient errors are retried; a script error
 * is blamed on the entries (and isolated).
 */
export function isTransientRedisError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code ?? '')) return true;
  return /Connection is closed|Stream isn't writeable|^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|MOVED|ASK|OOM)\b|Command timed out|NOGROUP/.test(
    e.message ?? '',
  );
}
