/**
 * Whether a Redis error says Redis is unavailable (connection lost, loading, failing over, out
 * of memory) rather than that a script refused the input.
 */
export function isTransientRedisError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  if (e.name === 'MaxRetriesPerRequestError') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(e.code ?? '')) return true;
  return /Connection is closed|Stream isn't writeable|^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|MOVED|ASK|OOM|NOSCRIPT)\b|Command timed out|NOGROUP|None of startup nodes/.test(
    e.message ?? '',
  );
}
