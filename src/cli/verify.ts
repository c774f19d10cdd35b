/**
 * Compare Redis with Postgres for every learner and board, print the drift, and exit 1 when
 * there is any (see src/store/verify.ts for what is compared).
 *   npm run verify [-- --repair] [--json] [--settle-ms N]
 * `--repair` rebuilds each drifted learner (and their board entries) from Postgres, checks them
 * again, and exits 0 when nothing is left. Safe while servers run: entries on their way to
 * Postgres are waited for, and rechecked, not reported. Honours REDIS_URL / REDIS_CLUSTER_NODES,
 * DATABASE_URL, KEY_PREFIX and PARTITIONS like the server.
 * Exit codes: 0 no drift (or all of it repaired), 1 drift, 2 could not check.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../config';
import { systemClock } from '../domain/ports';
import { createLogger } from '../logger';
import { postgresWriter } from '../server/consumers';
import { DeadLetters } from '../store/outbox/deadletters';
import { GROUPS } from '../store/outbox/groups';
import { OutboxMonitor } from '../store/outbox/monitor';
import { BoardRepository } from '../store/pg/boards';
import { ActivityRepository } from '../store/pg/activity';
import { LearnerRepository } from '../store/pg/learners';
import { BoardStore } from '../store/redis/boards';
import { LearnerHotStore } from '../store/redis/learners';
import { Membership } from '../store/redis/membership';
import { LearnerRepair } from '../store/repair';
import { concludeUnsettled, exitCodeOf, verifyStores, type VerifyReport } from '../store/verify';
import { connectStores } from './stores';

const args = process.argv.slice(2);
const repairing = args.includes('--repair');
const json = args.includes('--json');
const settleAt = args.indexOf('--settle-ms');
const settleMs = settleAt >= 0 ? Number(args[settleAt + 1]) : 10_000;
const unknown = args.filter((a, i) => !['--repair', '--json', '--settle-ms'].includes(a) && !(settleAt >= 0 && i === settleAt + 1));
if (unknown.length || !Number.isFinite(settleMs) || settleMs < 0) {
  console.error('usage: npm run verify [-- --repair] [--json] [--settle-ms N]');
  process.exit(2);
}

const config = loadConfig();
const log = createLogger(process.env.LOG_LEVEL ?? 'warn', 'verify');
const stores = await connectStores(config, { verb: 'verify', exitCode: 2 });
const { redis, orm, knex, keys } = stores;

const name = `verify:${randomUUID().slice(0, 8)}`;
// Wait (a while) for the write-behind to catch up, so fewer learners need a second look.
const membership = new Membership(redis, keys, log, { set: 'servers', ttlMs: config.memberTtlMs, observer: true, name });
const monitor = new OutboxMonitor(redis, keys, membership, Object.values(GROUPS), log, { intervalMs: 1000, warnEntries: Infinity, maxEntries: Infinity });
const deadline = Date.now() + settleMs;
for (;;) {
  const health = await monitor.check();
  const backlog = Object.values(health.groups).reduce((n, g) => n + g.backlog, 0);
  if (backlog === 0 || Date.now() >= deadline) break;
  await new Promise((r) => setTimeout(r, 200));
}

const hot = new LearnerHotStore(redis, keys, { eventRecordTtlMs: config.eventRecordTtlMs, boardPeriodGraceMs: config.boardPeriodGraceMs });
const repo = new LearnerRepository(orm, { boardPeriodGraceMs: config.boardPeriodGraceMs, clock: systemClock });
const boardRepo = new BoardRepository(orm);
let repair: LearnerRepair | undefined;
if (repairing) {
  const deadLetters = new DeadLetters(redis, keys, knex, log);
  const flusher = postgresWriter({ redis, keys, deadLetters, log, name, config }, knex);
  await flusher.ensureGroups();
  repair = new LearnerRepair({ keys, hot, repo, boards: new BoardStore(redis, keys, (id) => boardRepo.entries(id), { periodGraceMs: config.boardPeriodGraceMs }), flushPartition: (p) => flusher.flushPartition(p), log });
}

let report: VerifyReport;
try {
  report = await verifyStores({ redis, keys, hot, repo, repair, activity: new ActivityRepository(orm) });
} catch (err) {
  console.error(`Cannot verify: ${(err as Error).message}`);
  await stores.close();
  process.exit(2);
}

// Ahead of Postgres with nothing left to write: Postgres lost those changes.
const after = await monitor.check();
concludeUnsettled(report, Object.values(after.groups).every((g) => g.backlog === 0), repairing);

if (json) {
  console.log(JSON.stringify(report));
} else {
  console.log(`Checked ${report.learners} learners and ${report.boardEntries} entries on ${report.boards} boards.`);
  // verify compares what Redis holds: learners and boards are loaded on first use, so after a
  // Redis restart there may be little or nothing to compare yet.
  if (report.learners === 0 && report.boards === 0) console.log('Redis holds no learners and no boards yet (they load on first use): nothing to compare with Postgres.');
  for (const d of report.drift.slice(0, 200)) console.log(`DRIFT ${d.learnerId}${d.boardId ? ` on ${d.boardId}` : ''}: ${d.what}`);
  if (report.drift.length > 200) console.log(`... and ${report.drift.length - 200} more`);
  if (report.unsettled.length) console.log(`${report.unsettled.length} learners still had changes on their way to Postgres (not drift): ${report.unsettled.slice(0, 10).join(', ')}`);
  console.log(report.drift.length === 0 ? 'No drift.' : `${report.drift.length} problems found.`);
  if (repairing && (report.repaired.length || report.driftAfterRepair.length)) {
    console.log(`Repaired ${report.repaired.length} learners from Postgres; ${report.driftAfterRepair.length} problems left.`);
    for (const d of report.driftAfterRepair.slice(0, 50)) console.log(`LEFT ${d.learnerId}${d.boardId ? ` on ${d.boardId}` : ''}: ${d.what}`);
  }
}
await stores.close();
process.exit(exitCodeOf(report, repairing));
