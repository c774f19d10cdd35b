import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../logger';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, outboxEntries, startTestApp, type TestApp } from '../../../test/harness';
import { GROUPS } from './groups';
import { faultOf } from '../faults';
import { OutboxConsumer, type ConsumerOptions, type EntryHandler } from './consumer';
import { DeadLetters } from './deadletters';
import type { OutboxEntry } from './entry';
import { writeEntries } from './postgres/write';

const env = newTestEnv();
let t: TestApp;
const log = createLogger('silent');

/** Rows of every table the writer fills, for before/after comparisons. */
async function rowCounts() {
  const knex = t.app.orm.em.getKnex();
  const count = async (table: string) => Number(((await knex(table).count('* as n')) as { n: string }[])[0]!.n);
  return {
    learners: await count('learners'),
    enrollments: await count('enrollments'),
    lessonProgress: await count('lesson_progress'),
    xpTransactions: await count('xp_transactions'),
    badgeAwards: await count('badge_awards'),
    events: await count('learner_events'),
  };
}

/** `n` learners enroll in `fl` and complete `lessons` lessons each (the last one unlocks fl-badge). */
async function makeProgress(prefix: string, n: number, lessons: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const learner = `${prefix}-${i}`;
      await t.app.services.progress.enroll(learner, 'fl');
      for (let l = 1; l <= lessons; l += 1) await t.app.services.progress.completeLesson(learner, `fl-l${l}`);
    }),
  );
}

function consumer(group: string, handler: EntryHandler, options: Partial<ConsumerOptions> = {}): OutboxConsumer {
  return new OutboxConsumer(t.app.redis, t.app.keys, new DeadLetters(t.app.redis, t.app.keys, t.app.orm.em.getKnex(), log), log, handler, {
    group,
    name: `test-${randomUUID().slice(0, 6)}`,
    memberTtlMs: 300,
    batchSize: 20,
    concurrency: 2,
    minIntervalMs: 0,
    sweepMs: 50,
    claimIdleMs: 5000,
    maxAttempts: 3,
    classify: faultOf,
    ...options,
  });
}

const pgWriter = (options: Partial<ConsumerOptions> = {}, statementTimeoutMs = 10_000) =>
  consumer(GROUPS.postgres, async (entries) => {
    await writeEntries(t.app.orm.em.getKnex(), entries, statementTimeoutMs);
  }, options);

/** A second connection to the test database, outside the app's pool. */
async function adminClient() {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: env.databaseUrl });
  await client.connect();
  return client;
}

async function deadLetterCount(): Promise<number> {
  const rows = (await t.app.orm.em.getKnex()('outbox_dead_letters').count('* as n')) as { n: string }[];
  return Number(rows[0]!.n);
}

const allEntries = (): Promise<OutboxEntry[]> => outboxEntries(t.app);

beforeAll(async () => {
  // No consumers in the app: each test drives its own.
  t = await startTestApp(env, { config: { FLUSHER: 'false', PROJECTOR: 'false' } });
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'fl', modules: 1, lessons: 5, xp: 10 }));
  await t.app.services.catalog.upsertBadge({ id: 'fl-badge', name: 'Three', criteria: { type: 'lessons_completed', value: 3 }, xpReward: 7 });
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('the Postgres writer', () => {
  it('writes learners, enrollments, progress, the ledger, badges and the event log; the monitor trims once every group has read', async () => {
    await makeProgress('basic', 6, 3);
    const writer = pgWriter();
    await writer.start();
    await eventually(async () => (await writer.pendingTotal()) === 0 && writer.stats.entries >= 6 * 4, 10_000, 'the outbox to be written');
    await writer.stop();
    const knex = t.app.orm.em.getKnex();
    expect(await knex('learners').where({ id: 'basic-0' }).first()).toMatchObject({ total_xp: '37', lessons_completed: 3, version: 4 });
    expect(await knex('enrollments').where({ learner_id: 'basic-0' }).first()).toMatchObject({ course_id: 'fl', xp_earned: '30' });
    expect(await knex('lesson_progress').where({ learner_id: 'basic-0' })).toHaveLength(3);
    const ledger = (await knex('xp_transactions').where({ learner_id: 'basic-0' }).orderBy([{ column: 'occurred_at' }, { column: 'reason', order: 'desc' }])) as {
      reason: string;
      amount: string;
    }[];
    expect(ledger.map((r) => [r.reason, Number(r.amount)])).toEqual([
      ['lesson_completed', 10],
      ['lesson_completed', 10],
      ['lesson_completed', 10],
      ['badge_unlocked', 7],
    ]);
    expect(await knex('badge_awards').where({ learner_id: 'basic-0' })).toHaveLength(1);
    expect(await knex('learner_events').where({ learner_id: 'basic-0' })).toHaveLength(4);

    // The board group has not read them yet: nothing may be trimmed.
    await t.app.monitor.check();
    expect((await allEntries()).filter((e) => e.data.l.startsWith('basic-'))).toHaveLength(24);
    const boards = consumer(GROUPS.boards, async () => undefined);
    await boards.settle(0);
    await t.app.monitor.check();
    expect((await allEntries()).filter((e) => e.data.l.startsWith('basic-'))).toHaveLength(0);
  });

  it('writes nothing twice when it dies between the commit and the acknowledgement: another instance takes over at once', async () => {
    await makeProgress('crash', 10, 4);
    const before = await rowCounts();
    let committed: readonly OutboxEntry[] = [];
    const doomed: OutboxConsumer = pgWriter({
      afterHandle: (entries) => {
        committed = entries;
        doomed.kill();
      },
    });
    await doomed.start();
    await eventually(() => committed.length > 0, 10_000, 'the first commit');
    await doomed.stop({ drain: false });
    const afterCrash = await rowCounts();
    expect(afterCrash.xpTransactions).toBeGreaterThan(before.xpTransactions);
    expect(await doomed.pendingTotal()).toBeGreaterThanOrEqual(committed.length);

    // The heir claims the dead instance's entries as soon as its heartbeat expires (300 ms),
    // long before the idle-claim time (5 s), and writes the rest.
    const heir = pgWriter();
    const started = Date.now();
    await heir.start();
    await eventually(async () => (await heir.pendingTotal()) === 0 && (await rowCounts()).events - before.events === 50, 4000, 'the heir to finish');
    expect(Date.now() - started).toBeLessThan(4000);
    expect(heir.stats.claimed).toBeGreaterThan(0);
    await heir.stop();

    const after = await rowCounts();
    // 10 learners: enrollment + 4 lessons each; 4 lesson rows + 1 badge row in the ledger.
    expect(after.xpTransactions - before.xpTransactions).toBe(50);
    expect(after.lessonProgress - before.lessonProgress).toBe(40);
    expect(after.badgeAwards - before.badgeAwards).toBe(10);
    expect(after.learners - before.learners).toBe(10);
    expect(after.enrollments - before.enrollments).toBe(10);
    expect(after.events - before.events).toBe(50);
    for (let i = 0; i < 10; i += 1) expect(await t.app.learnerRepo.ledgerTotal(`crash-${i}`)).toBe(47);
  });

  it('changes nothing when a batch is replayed, or when an older batch arrives after a newer one', async () => {
    await makeProgress('replay', 3, 2);
    const entries = (await allEntries()).filter((e) => e.data.l.startsWith('replay-'));
    expect(entries).toHaveLength(3 * 3);
    const knex = t.app.orm.em.getKnex();
    const newestFirst = [...entries].sort((a, b) => b.data.v - a.data.v);
    await writeEntries(knex, newestFirst.slice(0, 5), 10_000);
    await writeEntries(knex, newestFirst.slice(5), 10_000);
    expect(await knex('learners').where({ id: 'replay-0' }).first()).toMatchObject({ total_xp: '20', version: 3 });
    const again = await writeEntries(knex, entries, 10_000);
    expect(again).toEqual({ learners: 0, enrollments: 0, lessonProgress: 0, quizAttempts: 0, xpTransactions: 0, badgeAwards: 0, certificates: 0, events: 0, activities: 0, behind: new Map() });
  });

  it('recreates its group when Redis loses the streams, and writes what comes after', async () => {
    const writer = pgWriter();
    await writer.start();
    for (const p of t.app.keys.allPartitions()) await t.app.redis.del(t.app.keys.outbox(p));
    await makeProgress('lost', 2, 1);
    await eventually(async () => (await t.app.orm.em.getKnex()('xp_transactions').whereIn('learner_id', ['lost-0', 'lost-1'])).length === 2, 10_000, 'rows written after the streams vanished');
    await writer.stop();
  });
});

describe('an entry that keeps failing', () => {
  it('goes to the dead letters with its error, and every other entry is written', async () => {
    await makeProgress('poison', 4, 1);
    const p = t.app.keys.partitionOf('poison-0');
    const stream = t.app.keys.outbox(p);
    const real = (await allEntries()).find((e) => e.data.l === 'poison-0' && e.data.k === 'lesson_completed')!;
    // Valid for the schema, refused by Postgres (an event key that is not a uuid), and unreadable.
    await t.app.redis.xadd(stream, '*', 'k', 'lesson_completed', 'j', JSON.stringify({ ...real.data, id: 'not-a-uuid', ls: 'poison-lesson' }));
    await t.app.redis.xadd(stream, '*', 'garbage', 'yes');
    await makeProgress('after-poison', 4, 1);

    const writer = pgWriter({ maxAttempts: 2 });
    await writer.start();
    await eventually(async () => (await writer.pendingTotal()) === 0 && writer.stats.deadLettered >= 2 && (await rowCounts()).events > 0, 10_000, 'the rest to flow');
    await writer.settle(0);
    await writer.stop();
    const knex = t.app.orm.em.getKnex();
    for (const l of ['poison-0', 'poison-3', 'after-poison-0', 'after-poison-3']) expect(await t.app.learnerRepo.ledgerTotal(l), l).toBe(10);
    // The unreadable one goes at once; the refused one after its tries.
    const letters = (await knex('outbox_dead_letters').where({ consumer_group: GROUPS.postgres }).orderByRaw('kind nulls last')) as { kind: string | null; error: string; payload: Buffer }[];
    expect(letters.map((l) => l.kind)).toEqual(['lesson_completed', null]);
    expect(letters[0]!.error).toMatch(/uuid/);
    expect(letters[1]!.error).toMatch(/not an outbox entry/);
    expect(letters[0]!.payload.toString('utf8')).toContain('not-a-uuid');
    expect(await t.app.redis.xlen(t.app.keys.deadLetters(p))).toBe(2);
  });

  it('is retried, never dead-lettered, while the failure says the store is down', async () => {
    await makeProgress('blip', 2, 1);
    let failures = 0;
    const writer = consumer(GROUPS.postgres, async (entries) => {
      if (failures < 3) {
        failures += 1;
        throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
      }
      await writeEntries(t.app.orm.em.getKnex(), entries, 10_000);
    });
    await writer.start();
    await eventually(async () => (await t.app.learnerRepo.ledgerTotal('blip-1')) === 10, 10_000, 'the write after the blip');
    await writer.stop();
    expect(failures).toBe(3);
    expect(writer.stats.deadLettered).toBe(0);
  });
});

describe('failures that are not the entries\' fault', () => {
  it('keeps everything pending while Postgres is read-only (a failover), dead-letters nothing, and writes it all after', async () => {
    const before = await deadLetterCount();
    const admin = await adminClient();
    const db = new URL(env.databaseUrl).pathname.slice(1);
    const cutPool = () => admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db]);
    try {
      await makeProgress('ro', 4, 2);
      await admin.query(`alter database "${db}" set default_transaction_read_only = on`);
      await cutPool();
      const writer = pgWriter({ maxAttempts: 2 });
      await writer.start();
      await new Promise((r) => setTimeout(r, 1500));
      expect(await t.app.learnerRepo.ledgerTotal('ro-0').catch(() => -1)).toBeLessThanOrEqual(0);
      expect(writer.stats.deadLettered).toBe(0);
      await admin.query(`alter database "${db}" reset default_transaction_read_only`);
      await cutPool();
      await eventually(async () => (await t.app.learnerRepo.ledgerTotal('ro-3').catch(() => 0)) === 20, 10_000, 'the writes after the failover');
      await writer.stop();
      expect(writer.stats.deadLettered).toBe(0);
      expect(await deadLetterCount()).toBe(before);
    } finally {
      await admin.query(`alter database "${db}" reset default_transaction_read_only`).catch(() => undefined);
      await admin.end();
    }
  });

  it('lets the rest flow past many poison entries, without waiting on them', async () => {
    await makeProgress('burst-src', 1, 1);
    const real = (await allEntries()).find((e) => e.data.l === 'burst-src-0' && e.data.k === 'lesson_completed')!;
    for (let i = 0; i < 64; i += 1) {
      const p = i % t.app.keys.partitions;
      await t.app.redis.xadd(t.app.keys.outbox(p), '*', 'k', 'lesson_completed', 'j', JSON.stringify({ ...real.data, id: `bad-${i}`, ls: `bad-${i}` }));
    }
    await makeProgress('burst-good', 8, 1);
    const writer = pgWriter({ maxAttempts: 3 });
    await writer.start();
    await eventually(async () => {
      for (let i = 0; i < 8; i += 1) if ((await t.app.learnerRepo.ledgerTotal(`burst-good-${i}`)) !== 10) return false;
      return true;
    }, 15_000, 'the good entries');
    // Every good entry landed before the poison ones ran out of tries (whatever the machine's load).
    expect(writer.stats.deadLettered).toBeLessThan(64);
    await eventually(() => writer.stats.deadLettered >= 64, 10_000, 'the poison to be dead-lettered');
    await writer.stop();
  });

  it("dead-letters a flood of one learner's bad entries (150 in a minute) without taking the store for down", async () => {
    await makeProgress('flood-src', 1, 1);
    const real = (await allEntries()).find((e) => e.data.l === 'flood-src-0' && e.data.k === 'lesson_completed')!;
    const stream = t.app.keys.outboxOf('flood-src-0');
    for (let i = 0; i < 150; i += 1) {
      await t.app.redis.xadd(stream, '*', 'k', 'lesson_completed', 'j', JSON.stringify({ ...real.data, id: `flood-${i}`, ls: `flood-${i}` }));
    }
    const writer = pgWriter({ maxAttempts: 1 });
    await writer.start();
    await eventually(() => writer.stats.deadLettered >= 150, 20_000, 'every bad entry dead-lettered');
    await makeProgress('flood-after', 2, 1);
    await eventually(async () => (await t.app.learnerRepo.ledgerTotal('flood-after-1')) === 10, 10_000, 'entries after the flood');
    await writer.stop();
  });

  it('writes other learners while one learner row is locked, and that learner once the lock goes', async () => {
    await makeProgress('lock', 4, 1);
    await pgWriter().settle(0);
    const admin = await adminClient();
    try {
      await admin.query('begin');
      await admin.query(`select * from learners where id = 'lock-0' for update`);
      for (let i = 0; i < 4; i += 1) await t.app.services.progress.completeLesson(`lock-${i}`, 'fl-l2');
      const writer = pgWriter({}, 300);
      await writer.start();
      await eventually(async () => {
        for (let i = 1; i < 4; i += 1) if ((await t.app.learnerRepo.ledgerTotal(`lock-${i}`)) !== 20) return false;
        return true;
      }, 15_000, 'the learners nobody locked');
      expect(await t.app.learnerRepo.ledgerTotal('lock-0')).toBe(10);
      await admin.query('rollback');
      await eventually(async () => (await t.app.learnerRepo.ledgerTotal('lock-0')) === 20, 5000, 'the locked learner after the lock');
      await writer.stop();
      expect(writer.stats.deadLettered).toBe(0);
    } finally {
      await admin.query('rollback').catch(() => undefined);
      await admin.end();
    }
  });
});
