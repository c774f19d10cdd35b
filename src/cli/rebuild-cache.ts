/**
 * Rebuild all of Redis (learners and boards) from Postgres, with a progress bar.
 *   npm run rebuild-cache [-- --force]
 * Honours REDIS_URL, DATABASE_URL, KEY_PREFIX and PARTITIONS like the server. Refuses to run
 * while servers are up (they heartbeat in Redis): a change a server makes during the rebuild
 * could be dropped. Stop them first; `--force` skips the check (only when you know they are
 * gone, e.g. their heartbeats outlived them).
 */
import { randomUUID } from 'node:crypto';
import { SingleBar, Presets } from 'cli-progress';
import { loadConfig } from '../config';
import { systemClock } from '../domain/ports';
import { boardProjector, postgresWriter } from '../server/consumers';
import { createLogger } from '../logger';
import { DeadLetters } from '../store/outbox/deadletters';
import { BoardRepository } from '../store/pg/boards';
import { LearnerRepository } from '../store/pg/learners';
import { BoardStore } from '../store/redis/boards';
import { LearnerHotStore } from '../store/redis/learners';
import { Membership } from '../store/redis/membership';
import { rebuildCache } from '../store/rebuild';
import { connectStores } from './stores';

const force = process.argv.includes('--force');
const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'rebuild-cache');
const { redis, orm, knex, keys } = await connectStores(config, { verb: 'rebuild', exitCode: 1, migrate: true });

const name = `rebuild-cache:${randomUUID().slice(0, 8)}`;
// Take the rebuild lock first, then look for servers (a starting server does it the other way
// round), so a server can never start unseen in the middle of a rebuild.
const LOCK_TTL_MS = 30_000;
if ((await redis.set(keys.rebuilding(), name, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
  console.error(`Another rebuild-cache is running (${await redis.get(keys.rebuilding())}).`);
  await redis.quit();
  await orm.close();
  process.exit(1);
}
const lockTimer = setInterval(() => void redis.pexpire(keys.rebuilding(), LOCK_TTL_MS).catch(() => undefined), LOCK_TTL_MS / 3);
const releaseLock = async () => {
  clearInterval(lockTimer);
  await redis.del(keys.rebuilding()).catch(() => undefined);
};
const membership = new Membership(redis, keys, log, { set: 'servers', ttlMs: config.memberTtlMs, observer: true, name });
const live = await membership.beat();
if (live.length > 0 && !force) {
  console.error(
    `${live.length} server${live.length === 1 ? ' is' : 's are'} running against this Redis (${live.join(', ')}). ` +
      'Stop them first: a change they make during the rebuild could be dropped. (--force skips this check.)',
  );
  await releaseLock();
  await redis.quit();
  await orm.close();
  process.exit(1);
}

const deadLetters = new DeadLetters(redis, keys, knex, log);
const deps = { redis, keys, deadLetters, log, name, config };
const flusher = postgresWriter(deps, knex);
// Boards are rebuilt from Postgres below: what the board group has not read yet is only skipped.
const boardsGroup = boardProjector(deps, async () => undefined);
await Promise.all([flusher.ensureGroups(), boardsGroup.ensureGroups()]);

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
    hot: new LearnerHotStore(redis, keys, { eventRecordTtlMs: config.eventRecordTtlMs, boardPeriodGraceMs: config.boardPeriodGraceMs }),
    repo: new LearnerRepository(orm, { boardPeriodGraceMs: config.boardPeriodGraceMs, clock: systemClock }),
    boardRepo,
    boards: new BoardStore(redis, keys, (id) => boardRepo.entries(id), { periodGraceMs: config.boardPeriodGraceMs }),
    // No server is up: whatever they left pending is claimed at once.
    drain: async () => {
      await flusher.settle(0);
      await boardsGroup.settle(0);
    },
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
await releaseLock();
await redis.quit();
await orm.close();
