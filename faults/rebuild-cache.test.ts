/**
 * Drill 6: `npm run rebuild-cache` under load, the README's way: it refuses while a server is
 * up; stop the server (SIGTERM: it drains the outbox), rebuild Redis from Postgres, start the
 * server again, while clients keep sending (and retrying) completions throughout.
 * Proves: nothing acknowledged before, during or after the rebuild is lost or paid twice, and
 * the rebuilt learners and boards equal Postgres.
 */
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { checkDrill, expectClean, loadFor, report, startDrill, type Drill } from './drill';
import { timingOf } from './load';
import { envOf, ROOT, type Deployment } from './server';
import { cleanUp } from './stores';

let drill: Drill | undefined;
afterAll(async () => {
  await drill?.server.kill();
  cleanUp();
});

/** Run rebuild-cache with the deployment's environment; its exit code, output and time. */
function rebuildCache(d: Deployment): Promise<{ code: number | null; output: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/rebuild-cache.ts'], { cwd: ROOT, env: envOf(d), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b) => (output += b));
    child.stderr.on('data', (b) => (output += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - t0 });
    });
  });
}

it('rebuild-cache under load (stop the server, rebuild, start): nothing acknowledged lost, Redis equals Postgres after', async () => {
  drill = await startDrill({ lessons: 6 });
  const { load, learners } = loadFor(drill, { run: 'rc', learners: 600, stride: 40, ratePerSec: 120, quizzes: true });
  load.start();
  await load.waitForAcks(500);

  const refused = await rebuildCache(drill.d);
  expect(refused.code).toBe(1);
  expect(refused.output).toMatch(/server is running|Stop them first/);

  const stopAt = Date.now();
  const exitCode = await drill.server.stop();
  expect(exitCode).toBe(0);
  const rebuilt = await rebuildCache(drill.d);
  expect(rebuilt.code, rebuilt.output).toBe(0);
  const startAt = Date.now();
  await drill.server.start();
  await load.waitForAcks(400);
  const timing = timingOf(load, stopAt, startAt);
  await load.finish();
  const r = await checkDrill(drill, load, learners);
  report('6 rebuild-cache under load', r, timing, {
    rebuildMs: rebuilt.ms,
    downMs: startAt - stopAt,
    rebuilt: /Rebuilt .*/.exec(rebuilt.output)?.[0] ?? '?',
  });
  expectClean(r);
});
