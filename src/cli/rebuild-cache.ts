/**
 * Rebuild all of Redis (learners and boards) from Postgres, with a progress bar.
 *   npm run rebuild-cache
 * Honours REDIS_URL, DATABASE_URL, KEY_PREFIX and PARTITIONS like the server. Safe to run
 * while servers are up: the outbox is drained first, and a learner touched meanwhile is
 * hydrated on demand.
 */
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import { Flusher } from '../store/pg/flusher';
import { LearnerRepository } from '../store/pg/learners';
import { openOrm, migrate } from '../store/pg/orm';
import { BoardRepository } from '../store/pg/boards';
import { BoardStore } from '../store/redis/boards';
import { createRedis } from '../store/redis/client';
import { Keys } from '../store/redis/keys';
import { LearnerHotStore } from '../store/redis/learners';
import { rebuildCache } from '../store/rebuild';

const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'rebuild-cache');
const redis = createRedis(config.redisUrl);
let orm;
try {
  await redis.connect();
  orm = await openOrm(config.databaseUrl);
  await migrate(orm);
} catch (err) {
  console.error(`Cannot rebuild: ${(err as Error).message}. Are Redis (${config.redisUrl}) and PostgreSQL up?`);
  process.exit(1);
}
const keys = new Keys(config.keyPrefix, config.partitions);
const knex = orm.em.getKnex();
const flusher = new Flusher(redis, keys, knex, log, {
  batchSize: config.flusher.batchSize,
  intervalMs: config.flusher.intervalMs,
  claimIdleMs: config.flusher.claimIdleMs,
});
await flusher.ensureGroups();

const boardRepo = new BoardRepository(orm);
// Redrawn in place on a terminal; a line a second when piped (CI logs).
const bar = new SingleBar(
  { format: ' {phase} |{bar}| {value}/{total}', hideCursor: true, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000 },
  Presets.shades_classic,
);
let phase = '';
const started = Date.now();
const result = await rebuildCache(
  {
    redis,
    keys,
    hot: new LearnerHotStore(redis, keys),
    repo: new LearnerRepository(orm),
    boardRepo,
    boards: new BoardStore(redis, keys, (id) => boardRepo.entries(id)),
    drain: () => flusher.settle(),
  },
  (p) => {
    if (p.phase !== phase) {
      if (phase) bar.stop();
      phase = p.phase;
      bar.start(p.total, p.done, { phase: p.phase.padEnd(8) });
    } else bar.update(p.done);
  },
);
bar.stop();
console.log(`Rebuilt ${result.learners} learners and ${result.boards} boards in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
await redis.quit();
await orm.close();
