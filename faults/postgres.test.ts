/**
 * Drill 2: Postgres stopped (`pg_ctl stop -m immediate`) for 20 s, started again, then frozen
 * (SIGSTOP on every one of its processes) for 20 s, under a steady load.
 * Proves: Redis keeps acknowledging what it can decide alone, the outbox waits for Postgres
 * instead of dropping or dead-lettering, and after recovery the ledger holds every
 * acknowledged completion once. Prints how long requests failed or hung.
 */
import { afterAll, it } from 'vitest';
import { checkDrill, expectClean, expectFailFast, loadFor, report, startDrill, type Drill } from './drill';
import { timingOf } from './load';
import { cleanUp, sleep } from './stores';

const OUTAGE_MS = Number(process.env.FAULTS_OUTAGE_MS ?? 20_000);

let drill: Drill | undefined;
afterAll(async () => {
  await drill?.server.kill();
  cleanUp();
});

it('Postgres stopped 20 s, then frozen 20 s: nothing acknowledged lost, nothing paid twice', async () => {
  drill = await startDrill({ lessons: 8 });
  const { load, learners } = loadFor(drill, { run: 'pg', learners: 1000, stride: 40, ratePerSec: 100, quizzes: true });
  load.start();
  await load.waitForAcks(300);

  const stopAt = Date.now();
  await drill.pg.stopImmediate();
  await sleep(OUTAGE_MS);
  const startAt = Date.now();
  await drill.pg.restart();
  await load.waitForAcks(200);
  const stopped = timingOf(load, stopAt, startAt);

  await load.waitForAcks(200);
  const freezeAt = Date.now();
  drill.pg.freeze();
  await sleep(OUTAGE_MS);
  const thawAt = Date.now();
  drill.pg.thaw();
  await load.waitForAcks(200);
  const frozen = timingOf(load, freezeAt, thawAt);
  await load.finish();

  const r = await checkDrill(drill, load, learners);
  report('2a Postgres stopped 20 s', r, stopped, { restartMs: startAt - stopAt - OUTAGE_MS });
  report('2b Postgres frozen 20 s', r, frozen);
  expectClean(r);
  expectFailFast(frozen);
});
