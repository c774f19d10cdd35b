/**
 * The cost of a late active day (lua/includes/activeDay.lua): a learner with 3 years of daily
 * activity (1,095 active days, loaded by hydration) gets a DAILY_LOGIN for a day before all of
 * them, which rebuilds the streak from the learner's days. Times the script call (one EVALSHA
 * round trip to a local Redis) against a login on a new latest day (O(1)), median of RUNS
 * learners, and prints the hash's MEMORY USAGE.
 *
 *   npx tsx bench/late-day-rebuild.ts
 *
 * LEGACY=1 writes the days as the hashes from before the bitmap held them (one `d:<day>` field
 * per day) after hydration, so the late event also converts them (the first event's cost).
 * SLOWLOG=1 also reads the script's own time from SLOWLOG (it sets slowlog-log-slower-than to
 * 0 and resets the log: only on a Redis of your own, e.g.
 * `redis-server --port 6399 --save ''` and REDIS_URL=redis://127.0.0.1:6399).
 * Uses its own key prefix on the Redis of REDIS_URL and deletes its keys after.
 */
import { randomUUID } from 'node:crypto';
import { NO_CANDIDATES } from '../src/domain/badges/compile';
import type { PreparedEvent } from '../src/domain/events/prepare';
import type { LearningEvent } from '../src/domain/events/types';
import { emptyLearner } from '../src/domain/learners/state';
import { deleteMatching } from '../src/store/redis/client';
import { Keys } from '../src/store/redis/keys';
import { LearnerHotStore } from '../src/store/redis/learners';
import { testRedis } from '../test/harness';

const DAY = 86_400_000;
const RUNS = Number(process.env.RUNS ?? 21);
const YEARS_OF_DAYS = 3 * 365;
const LEGACY = process.env.LEGACY === '1';
const SLOWLOG = process.env.SLOWLOG === '1';

const login = (learnerId: string, at: number): PreparedEvent => {
  const key = randomUUID();
  const event = { id: key, idFromCaller: false, key, kind: 'LOGGED_IN', learnerId, occurredAt: at, recordedAt: Date.now(), payload: {} } as unknown as LearningEvent<'LOGGED_IN'>;
  return { event, badges: NO_CANDIDATES } as PreparedEvent;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const prefix = `bench:${randomUUID().slice(0, 8)}:`;
  const keys = new Keys(prefix, 8);
  const redis = testRedis();
  await redis.connect();
  const store = new LearnerHotStore(redis, keys, { eventRecordTtlMs: 60_000, boardPeriodGraceMs: DAY });
  const today = Math.floor(Date.now() / DAY);
  const days = Array.from({ length: YEARS_OF_DAYS }, (_, i) => today - YEARS_OF_DAYS + i);
  const late: number[] = [];
  const latest: number[] = [];
  const lateUs: number[] = [];
  const latestUs: number[] = [];
  if (SLOWLOG) await redis.config('SET', 'slowlog-log-slower-than', '0');
  // The duration (µs) of the newest EVALSHA in the slow log.
  const scriptUs = async () => {
    const log = (await redis.call('SLOWLOG', 'GET', '10')) as [number, number, number, string[]][];
    const e = log.find((x) => String(x[3][0]).toLowerCase().startsWith('eval'));
    return e ? Number(e[2]) : Number.NaN;
  };
  let memory = 0;
  let fields = 0;
  try {
    for (let r = 0; r < RUNS; r += 1) {
      const id = `late-${r}`;
      await store.hydrate({ ...emptyLearner(id), version: 1, activeDays: days });
      const hash = keys.learner(id);
      if (LEGACY) {
        await redis.hdel(hash, 'days', 'd0');
        for (let i = 0; i < days.length; i += 500) await redis.hset(hash, ...days.slice(i, i + 500).flatMap((d) => [`d:${d}`, '1']));
      }
      if (r === 0) {
        memory = Number(await redis.call('MEMORY', 'USAGE', hash, 'SAMPLES', '0'));
        fields = await redis.hlen(hash);
      }
      // A day 30 days before the first: a late day, the streak rebuilt from the days.
      if (SLOWLOG) await redis.call('SLOWLOG', 'RESET');
      let t = process.hrtime.bigint();
      const a = await store.run(login(id, (days[0]! - 30) * DAY + 3_600_000));
      late.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (SLOWLOG) {
        lateUs.push(await scriptUs());
        await redis.call('SLOWLOG', 'RESET');
      }
      // Today: a new latest day, O(1).
      t = process.hrtime.bigint();
      const b = await store.run(login(id, today * DAY + 3_600_000));
      latest.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (SLOWLOG) latestUs.push(await scriptUs());
      if (a.status !== 'applied' || b.status !== 'applied') throw new Error(`not applied: ${a.status} ${b.status}`);
    }
    const s = await redis.hmget(keys.learner('late-0'), 'ad', 'sk', 'sl', 'sd');
    console.log(
      `${LEGACY ? 'legacy d: fields, ' : ''}${YEARS_OF_DAYS} active days: hash ${memory} B (${fields} fields); late-day event ${median(late).toFixed(2)} ms, ` +
        `latest-day event ${median(latest).toFixed(2)} ms (median of ${RUNS}, client-timed EVALSHA)` +
        (SLOWLOG ? `; script time (SLOWLOG) late ${median(lateUs)} µs, latest ${median(latestUs)} µs` : '') +
        `; after: ad ${s[0]} sk ${s[1]} sl ${s[2]} sd ${s[3]}`,
    );
  } finally {
    await deleteMatching(redis, `${prefix}*`);
    redis.disconnect();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
