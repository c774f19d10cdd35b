import type { Knex } from '@mikro-orm/postgresql';
import { GROUPS } from '../store/outbox/groups';
import type { OutboxMonitor } from '../store/outbox/monitor';
import type { RepairStats } from '../store/repair';
import type { RollbackState } from '../store/rollback';
import type { Readiness, Route } from './http';

/**
 * Readiness: Redis and Postgres answer, the outbox is below its bound, and no consumer
 * group's oldest unacknowledged entry is older than `maxLagMs` (the write-behind is not
 * stuck), and, when `maxDeadLetters` is set, fewer dead letters than that. The body says
 * which, with the write-behind lag and the dead-letter count. Postgres is pinged at
 * most once a second, and counts as down when it does not answer within `pgTimeoutMs`; Redis
 * is judged by the monitor's last check (each of its commands gives up after the Redis command
 * timeout), so a frozen store makes this answer 503, never hang.
 *
 * It also shows what the service did about a Redis behind Postgres: `repairs` (learners the
 * write-behind found behind and rebuilt) and `rollback` (the check after a reconnect or a new
 * master; 503 `redis checking` while changes wait for it).
 */
export function readinessCheck(
  monitor: OutboxMonitor,
  knex: Knex,
  maxLagMs: number,
  pgTimeoutMs = 2000,
  recovery: { repairs?: () => RepairStats; rollback?: () => RollbackState } = {},
  /** Dead letters at which the service is not ready; 0: never (they are shown all the same). */
  maxDeadLetters = 0,
): () => Promise<Readiness> {
  let pg: { at: number; state: 'up' | 'down' | 'read-only' } = { at: 0, state: 'up' };
  // Writable, not just up: a standby after a failover answers reads but refuses every write.
  const ping = async (): Promise<'up' | 'down' | 'read-only'> => {
    if (Date.now() - pg.at < 1000) return pg.state;
    let state: 'up' | 'down' | 'read-only' = 'down';
    try {
      const res = (await Promise.race([
        knex.raw(`select pg_is_in_recovery() or current_setting('transaction_read_only') = 'on' as read_only`),
        new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), pgTimeoutMs)),
      ])) as { rows: { read_only: boolean }[] };
      state = res.rows[0]?.read_only ? 'read-only' : 'up';
    } catch {
      state = 'down';
    }
    pg = { at: Date.now(), state };
    return state;
  };
  return async () => {
    // The monitor measures every second; measure here only when it has not lately (not started).
    const fresh = Date.now() - monitor.latest().checkedAt < 2000;
    const [postgres, outbox] = await Promise.all([ping(), fresh ? monitor.latest() : monitor.check()]);
    const reasons: string[] = [];
    if (!outbox.redisUp) reasons.push('redis unavailable');
    if (postgres === 'down') reasons.push('postgres unavailable');
    if (postgres === 'read-only') reasons.push('postgres read-only');
    if (monitor.full()) reasons.push('outbox full');
    const rollback = recovery.rollback?.();
    if (outbox.redisUp && rollback?.state === 'checking') reasons.push('redis checking');
    for (const [group, g] of Object.entries(outbox.groups)) {
      if (g.oldestAgeMs > maxLagMs) reasons.push(`${group} lagging ${Math.round(g.oldestAgeMs / 1000)} s`);
    }
    if (maxDeadLetters > 0 && outbox.deadLetters >= maxDeadLetters) reasons.push(`${outbox.deadLetters} dead letters (bound ${maxDeadLetters})`);
    return {
      ready: reasons.length === 0,
      body: {
        reasons,
        redis: outbox.redisUp ? 'up' : 'down',
        postgres,
        /** Age of the oldest entry not yet written to Postgres (ms). */
        writeBehindLagMs: outbox.groups[GROUPS.postgres]?.oldestAgeMs ?? 0,
        outbox: { entries: outbox.entries, groups: outbox.groups, deadLetters: outbox.deadLetters, checkedAt: new Date(outbox.checkedAt).toISOString() },
        ...(recovery.repairs ? { repairs: { ...recovery.repairs() } } : {}),
        ...(rollback ? { rollback } : {}),
      },
    };
  };
}

/**
 * GET /health: the process is alive and serves HTTP (a liveness probe). It touches no store,
 * so a Redis or Postgres outage never gets a healthy process restarted; /ready says that.
 */
export const healthRoute: Route = (req, res) => {
  const url = req.url ?? '';
  if (url !== '/health' && !url.startsWith('/health?')) return false;
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : '{"status":"alive"}');
  return true;
};
