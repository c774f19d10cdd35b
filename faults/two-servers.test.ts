/**
 * Drill 5: two servers on one Redis and Postgres, one SIGKILLed mid-load while it holds outbox
 * entries it has read but not yet written (its Postgres write is held up by a 1.5 s Postgres
 * freeze, so there is something to hand over). Proves: the survivor claims and writes the dead
 * one's pending entries within the member TTL plus a sweep (MEMBER_TTL_MS + OUTBOX_SWEEP_MS),
 * long before FLUSH_CLAIM_IDLE_MS, and nothing acknowledged is lost. Prints the claim time.
 */
import { hostname } from 'node:os';
import { afterAll, expect, it } from 'vitest';
import { Keys } from '../src/store/redis/keys';
import { checkDrill, expectClean, loadFor, report, startDrill, type Drill } from './drill';
import { timingOf } from './load';
import { ServerProcess } from './server';
import { cleanUp, sleep, type TestRedis } from './stores';

const MEMBER_TTL_MS = 3000;
const SWEEP_MS = 1000;
const CLAIM_IDLE_MS = 30_000;

let drill: Drill | undefined;
let second: ServerProcess | undefined;
afterAll(async () => {
  await drill?.server.kill();
  await second?.kill();
  cleanUp();
});

/** Outbox entries (both groups, all partitions) pending for consumers whose name starts with `prefix`. */
async function pendingOf(redis: TestRedis, keys: Keys, prefix: string): Promise<number> {
  const c = redis.client({ connectTimeout: 2000, commandTimeout: 5000 });
  try {
    await c.connect();
    let total = 0;
    for (const p of keys.allPartitions()) {
      for (const group of ['flusher', 'boards']) {
        const consumers = (await c.call('XINFO', 'CONSUMERS', keys.outbox(p), group).catch(() => [])) as unknown[][];
        for (const fields of consumers) {
          const f = new Map<string, unknown>();
          for (let i = 0; i < fields.length; i += 2) f.set(String(fields[i]), fields[i + 1]);
          if (String(f.get('name')).startsWith(prefix)) total += Number(f.get('pending'));
        }
      }
    }
    return total;
  } finally {
    c.disconnect();
  }
}

it('two servers, one SIGKILLed holding outbox entries: the other writes them within the member TTL plus a sweep', async () => {
  const env = { MEMBER_TTL_MS: String(MEMBER_TTL_MS), OUTBOX_SWEEP_MS: String(SWEEP_MS), FLUSH_CLAIM_IDLE_MS: String(CLAIM_IDLE_MS) };
  drill = await startDrill({ lessons: 6, serverEnv: env });
  second = await ServerProcess.create(drill.d, { FLUSH_INTERVAL_MS: '50', ...env });
  await second.start();
  const a = drill.server;
  const b = second;
  let urls = [a.url, b.url];
  const { load, learners } = loadFor(drill, { run: 'two', learners: 600, stride: 40, ratePerSec: 120, urls: () => urls, quizzes: true });
  load.start();
  await load.waitForAcks(500);
  const keys = new Keys(drill.d.keyPrefix, drill.d.partitions);
  const consumerA = `${hostname()}:${a.proc!.pid}:`;

  // Hold up Postgres so both servers sit on entries they have read, then kill one of them.
  drill.pg.freeze();
  await sleep(1500);
  const heldAtKill = await pendingOf(drill.redis, keys, consumerA);
  const killAt = Date.now();
  await a.kill();
  urls = [b.url];
  drill.pg.thaw();
  let claimMs: number | null = null;
  while (Date.now() - killAt < CLAIM_IDLE_MS + 10_000) {
    if ((await pendingOf(drill.redis, keys, consumerA)) === 0) {
      claimMs = Date.now() - killAt;
      break;
    }
    await sleep(100);
  }
  await load.waitForAcks(300);
  const timing = timingOf(load, killAt, killAt);
  await load.finish();
  const r = await checkDrill(drill, load, learners, b.url);
  report('5 two servers, one SIGKILLed', r, timing, { heldAtKill, claimMs: claimMs ?? 'never', bound: `${MEMBER_TTL_MS}+${SWEEP_MS} ms` });
  expect(heldAtKill).toBeGreaterThan(0);
  expect(claimMs).not.toBeNull();
  // Claimed as a dead member's work, not as a stuck one's (FLUSH_CLAIM_IDLE_MS); 2 s of slack for a busy machine.
  expect(claimMs!).toBeLessThan(MEMBER_TTL_MS + SWEEP_MS + 2000);
  expectClean(r);
});
