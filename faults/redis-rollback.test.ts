/**
 * Drill 4: Redis restored from a snapshot older than Postgres. An RDB is taken mid-load
 * (BGSAVE), the load goes on, the outbox is written to Postgres, Redis is killed and started
 * again from the old RDB: Redis is now behind Postgres for every learner who moved since.
 *
 * What issue 6 item 2 promises, and this drill checks: after recovery there is no drift
 * (served XP, boards and Postgres agree), and sending an already acknowledged completion again
 * is answered as a repeat (same eventId) or ALREADY_COMPLETED (a new eventId), never paid a
 * second time. The RollbackGuard (src/store/rollback.ts) notices the restart with an older
 * stream and rebuilds the behind learners from Postgres before the first write is served.
 */
import { expect, it, afterAll } from 'vitest';
import { drained } from './check';
import { checkDrill, expectClean, loadFor, loadOf, report, startDrill, type Drill } from './drill';
import type { Op } from './load';
import { cleanUp, sleep } from './stores';

let drill: Drill | undefined;
afterAll(async () => {
  await drill?.server.kill();
  cleanUp();
});

/** Redis info field. */
async function infoField(d: Drill, section: string, field: string): Promise<string | undefined> {
  const info = await d.redis.command<string>('INFO', section);
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

it('Redis restored from an older snapshot: no drift after recovery, re-sent completions never paid twice', async () => {
  drill = await startDrill({ lessons: 6 });
  const { ops, learners } = loadFor(drill, { run: 'rb', learners: 300, stride: 30, ratePerSec: 150 });
  const load = loadOf(drill, ops.slice(0, 1200), { ratePerSec: 150 }).start();
  await load.waitForAcks(400);
  const acksBeforeSnapshot = load.acks.length;
  await drill.redis.command('BGSAVE');
  const snapAt = Date.now();
  for (let i = 0; i < 100 && (await infoField(drill, 'persistence', 'rdb_bgsave_in_progress')) !== '0'; i++) await sleep(50);
  expect(await infoField(drill, 'persistence', 'rdb_last_bgsave_status')).toBe('ok');
  await sleep(2000);
  await load.finish();
  await drained(drill.redis, drill.d);
  await drill.redis.kill();
  const healAt = Date.now();
  // Same dir, persistence still off: it loads dump.rdb, the state of `snapAt`.
  await drill.redis.restart();

  // Before any traffic: how far behind the restored Redis is (figures only).
  const behind = await checkDrill(drill, load, learners);
  report('4 restored RDB, before traffic (figures only)', behind, null, { servedBelowLedger: `${behind.servedDrift} learners/${behind.servedDriftXp} XP`, boardDrift: behind.boardDrift });

  // Another client reporting a lesson acknowledged after the snapshot under a new eventId
  // (must be ALREADY_COMPLETED), then every acknowledged completion again with its own eventId
  // (a client retrying: a repeat, never a second payment), then the rest of the course.
  const otherId: Op[] = load.acks.slice(acksBeforeSnapshot).map((a) => ({ learner: a.op.learner, lesson: a.op.lesson, eventId: `${a.op.eventId}-other` }));
  const again: Op[] = load.acks.map((a) => a.op);
  const other = loadOf(drill, otherId, { ratePerSec: 150 }).start();
  await other.done();
  const after = loadOf(drill, [...again, ...ops.slice(load.started)], { ratePerSec: 150 }).start();
  await after.done();
  const r = await checkDrill(drill, [load, other, after], learners);

  const first = new Map(load.acks.map((a) => [a.op.eventId, a]));
  const sameIdAnswers = after.acks.filter((a) => first.has(a.op.eventId));
  const otherIdPaid = other.acks.filter((a) => a.xpAwarded > 0).length;
  const otherIdRefused = other.outcomes.filter((o) => o.kind === 'refused' && o.code === 'ALREADY_COMPLETED').length;
  report('4 Redis restored from older RDB', r, null, {
    acksAfterSnapshot: load.acks.length - acksBeforeSnapshot,
    snapshotAgeMs: healAt - snapAt,
    resentSameId: sameIdAnswers.length,
    resentOtherId: otherId.length,
    otherIdPaidAgain: otherIdPaid,
    otherIdAlreadyCompleted: otherIdRefused,
  });
  // A new eventId for a paid lesson is ALREADY_COMPLETED, never XP.
  expect(otherIdPaid).toBe(0);
  expect(otherIdRefused).toBe(otherId.length);
  // Only those refusals are expected.
  expectClean({ ...r, refused: Object.fromEntries(Object.entries(r.refused).filter(([code]) => code !== 'ALREADY_COMPLETED')) });
});
