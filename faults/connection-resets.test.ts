/**
 * Drill 7: connection resets under load: every 400 ms for 10 s, Redis drops the server's
 * connections (`CLIENT KILL TYPE normal`, and every other time `TYPE pubsub`, which carries the
 * outbox doorbells and live pushes) and Postgres terminates its backends
 * (`pg_terminate_backend`). Proves: a reset costs at most a retry, nothing acknowledged is lost
 * or paid twice, and the write-behind reconnects by itself.
 */
import { afterAll, it } from 'vitest';
import { checkDrill, expectClean, loadFor, report, startDrill, type Drill } from './drill';
import { timingOf } from './load';
import { cleanUp, sleep } from './stores';

let drill: Drill | undefined;
afterAll(async () => {
  await drill?.server.kill();
  cleanUp();
});

it('Redis CLIENT KILL and pg_terminate_backend every 400 ms for 10 s: nothing acknowledged lost, nothing paid twice', async () => {
  drill = await startDrill({ lessons: 6 });
  const { load, learners } = loadFor(drill, { run: 'cr', learners: 600, stride: 40, ratePerSec: 120, quizzes: true });
  load.start();
  await load.waitForAcks(300);
  const firstAt = Date.now();
  let redisKilled = 0;
  let pgTerminated = 0;
  for (let i = 0; Date.now() - firstAt < 10_000; i++) {
    redisKilled += await drill.redis.command<number>('CLIENT', 'KILL', 'TYPE', i % 2 ? 'pubsub' : 'normal');
    const rows = await drill.pg.query<{ ok: boolean }>('lms', `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = 'lms' and pid <> pg_backend_pid()`);
    pgTerminated += rows.filter((r) => r.ok).length;
    await sleep(400);
  }
  const lastAt = Date.now();
  await load.waitForAcks(300);
  const timing = timingOf(load, firstAt, lastAt);
  await load.finish();
  const r = await checkDrill(drill, load, learners);
  report('7 connection resets (Redis + Postgres)', r, timing, { redisConnectionsKilled: redisKilled, pgBackendsTerminated: pgTerminated });
  expectClean(r);
});
