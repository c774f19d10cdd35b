/**
 * Drill 1: the server is SIGKILLed mid-load three times, each learner completing one lesson.
 * Proves: whatever a client was told is in Postgres exactly once, retries with the same
 * eventId never pay twice, and after the restarts the boards equal the totals.
 */
import { afterAll, it } from 'vitest';
import { checkDrill, expectClean, loadFor, report, startDrill, type Drill } from './drill';
import { timingOf, worstOf, type FaultTiming } from './load';
import { cleanUp } from './stores';

let drill: Drill | undefined;
afterAll(async () => {
  await drill?.server.kill();
  cleanUp();
});

it('server SIGKILL x3 mid-load: nothing acknowledged lost, nothing paid twice, boards equal totals', async () => {
  drill = await startDrill({ lessons: 1 });
  const { load, learners } = loadFor(drill, { run: 'kill', learners: 2400, lessons: 1, ratePerSec: 120 });
  load.start();
  const timings: FaultTiming[] = [];
  for (let i = 0; i < 3; i++) {
    await load.waitForAcks(250);
    const killAt = Date.now();
    await drill.server.kill();
    const healAt = Date.now();
    await drill.server.start();
    await load.waitForAcks(100);
    timings.push(timingOf(load, killAt, healAt));
  }
  await load.waitForAcks(200);
  await load.finish();
  const r = await checkDrill(drill, load, learners);
  const worst = worstOf(timings);
  report('1 server SIGKILL x3', r, worst, { recoverEach: timings.map((t) => t.recoverMs).join('/') });
  expectClean(r);
});
