import type { Knex } from '@mikro-orm/postgresql';
import type { OutboxMonitor } from '../store/outbox/monitor';
import type { Readiness } from './http';

/**
 * Readiness: Redis and Postgres answer, the outbox is below its bound, and no consumer
 * group's oldest unacknowledged entry is older than `maxLagMs` (the write-behind is not
 * stuck). The body says which, with the lag and the dead-letter count. Postgres is pinged at
 * most once a second.
 */
export function readinessCheck(monitor: OutboxMonitor, knex: Knex, maxLagMs: number): () => Promise<Readiness> {
  let pg: { at: number; up: boolean } = { at: 0, up: true };
  const ping = async (): Promise<boolean> => {
    if (Date.now() - pg.at < 1000) return pg.up;
    let up = false;
    try {
      await Promise.race([knex.raw('select 1'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000))]);
      up = true;
    } catch {
      up = false;
    }
    pg = { at: Date.now(), up };
    return up;
  };
  return async () => {
    // The monitor measures every second; measure here only when it has not lately (not started).
    const fresh = Date.now() - monitor.latest().checkedAt < 2000;
    const [postgresUp, outbox] = await Promise.all([ping(), fresh ? monitor.latest() : monitor.check()]);
    const reasons: string[] = [];
    if (!outbox.redisUp) reasons.push('redis unavailable');
    if (!postgresUp) reasons.push('postgres unavailable');
    if (monitor.full()) reasons.push('outbox full');
    for (const [group, g] of Object.entries(outbox.groups)) {
      if (g.oldestAgeMs > maxLagMs) reasons.push(`${group} lagging ${Math.round(g.oldestAgeMs / 1000)} s`);
    }
    return {
      ready: reasons.length === 0,
      body: {
        reasons,
        redis: outbox.redisUp ? 'up' : 'down',
        postgres: postgresUp ? 'up' : 'down',
        outbox: { entries: outbox.entries, groups: outbox.groups, deadLetters: outbox.deadLetters, checkedAt: new Date(outbox.checkedAt).toISOString() },
      },
    };
  };
}
