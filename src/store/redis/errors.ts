import { LogThrottle, type Logger } from '../../logger';
import type { RedisClient } from './client';

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

/** The same error of one connection is logged at most once per this long; repeats are counted. */
export const ERROR_LOG_INTERVAL_MS = 5000;

/** Connections already watched, with their name and logger, so a dedicated copy of one is watched too. */
const watched = new WeakMap<object, { log: Logger; name: string; intervalMs: number }>();

/**
 * Log a connection's driver errors as structured lines instead of ioredis's "Unhandled error
 * event" traces on stderr: every `error` (and, on a Cluster, every `node error` of its node
 * connections), at most one line per distinct message per {@link ERROR_LOG_INTERVAL_MS} with a
 * count of the repeats left out, and one line when the connection is ready again after errors.
 * A connection made with `dedicatedConnection` from a watched one is watched the same way.
 */
export function watchConnection(conn: RedisClient, log: Logger, name: string, intervalMs = ERROR_LOG_INTERVAL_MS): void {
  if (watched.has(conn)) return;
  watched.set(conn, { log, name, intervalMs });
  // Old messages are forgotten so a connection failing in many ways cannot grow the throttle.
  const throttle = new LogThrottle(intervalMs);
  let failing = false;
  const report = (err: Error, node?: string) => {
    failing = true;
    const message = String(err?.message ?? err).slice(0, 300);
    const repeatsLeftOut = throttle.take(`${node ?? ''} ${message}`);
    if (repeatsLeftOut === null) return;
    log.warn({ connection: name, ...(node ? { node } : {}), err: message, code: (err as { code?: string })?.code, repeatsLeftOut }, 'redis connection error');
  };
  conn.on('error', (err: Error) => report(err));
  if (conn.isCluster) {
    conn.on('node error', (err: Error, node: string) => report(err, String(node)));
  }
  conn.on('ready', () => {
    if (!failing) return;
    failing = false;
    throttle.clear();
    log.info({ connection: name }, 'redis connection ready again');
  });
}

/** The name, logger and interval a connection is watched with, if it is. */
export function watcherOf(conn: RedisClient): { log: Logger; name: string; intervalMs: number } | undefined {
  return watched.get(conn);
}
