import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../logger';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, type TestApp } from '../../../test/harness';
import { Flusher, FLUSHER_GROUP } from './flusher';
import { writeBatch, type OutboxEntry } from './outbox-writer';

const env = newTestEnv();
let t: TestApp;
const log = createLogger('silent');

/** Rows of every table the flusher writes, for before/after comparisons. */
async function rowCounts() {
  const knex = t.app.orm.em.getKnex();
  const count = async (table: string) => Number(((await knex(table).count('* as n')) as { n: string }[])[0]!.n);
  return {
    learners: await count('learners'),
    enrollments: await count('enrollments'),
    lessonProgress: await count('lesson_progress'),
    xpTransactions: await count('xp_transactions'),
    badgeAwards: await count('badge_awards'),
  };
}

async function pendingTotal(): Promise<number> {
  let n = 0;
  for (const s of t.app.keys.outboxes()) n += Number(((await t.app.redis.xpending(s, FLUSHER_GROUP)) as [number])[0]);
  return n;
}

/** Make `n` learners enroll and complete `lessons` lessons each, straight through the store. */
async function makeProgress(prefix: string, n: number, lessons: number): Promise<void> {
  const now = Date.now();
  const needs = { courseIds: ['fl'], badgeIds: [] };
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const learner = `${prefix}-${i}`;
      await t.app.learnerStore.enroll(learner, 'fl', randomUUID(), now, needs);
      for (let l = 1; l <= lessons; l += 1) {
        await t.app.learnerStore.completeLesson(learner, { id: `fl-l${l}`, courseId: 'fl', xp: 10 }, randomUUID(), now + l, needs);
      }
      await t.app.learnerStore.awardBadge(learner, 'fl-badge', 7, randomUUID(), now + lessons + 1, needs);
    }),
  );
}

function newFlusher(options: Partial<ConstructorParameters<typeof Flusher>[4]> = {}): Flusher {
  return new Flusher(t.app.redis, t.app.keys, t.app.orm.em.getKnex(), log, { batchSize: 50, intervalMs: 10, claimIdleMs: 100, ...options });
}

beforeAll(async () => {
  // No flusher loop in the app: each test drives its own flushers.
  t = await startTestApp(env, { config: { FLUSHER: 'false' } });
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'fl', modules: 1, lessons: 5, xp: 10 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('flusher', () => {
  it('writes enrollments, progress, the ledger, badge awards and snapshots, then trims the outbox', async () => {
    await makeProgress('basic', 6, 3);
    const f = newFlusher();
    await f.start();
    await eventually(async () => (await pendingTotal()) === 0 && f.stats.entries >= 6 * 5, 10_000, 'the outbox to drain');
    await f.stop();
    const knex = t.app.orm.em.getKnex();
    const learner = await knex('learners').where({ id: 'basic-0' }).first();
    expect(learner).toMatchObject({ total_xp: 37, lessons_completed: 3, version: 5 });
    expect(await knex('enrollments').where({ learner_id: 'basic-0' }).first()).toMatchObject({ course_id: 'fl', xp_earned: 30 });
    expect(await knex('lesson_progress').where({ learner_id: 'basic-0' })).toHaveLength(3);
    const ledger = await knex('xp_transactions').where({ learner_id: 'basic-0' }).orderBy('occurred_at');
    expect(ledger.map((r: { reason: string; amount: number }) => [r.reason, r.amount])).toEqual([
      ['lesson_completed', 10],
      ['lesson_completed', 10],
      ['lesson_completed', 10],
      ['badge_unlocked', 7],
    ]);
    expect(await knex('badge_awards').where({ learner_id: 'basic-0' })).toHaveLength(1);
    let left = 0;
    for (const s of t.app.keys.outboxes()) left += await t.app.redis.xlen(s);
    expect(left).toBe(0);
  });

  it('writes nothing twice when it dies between the Postgres commit and the XACK', async () => {
    await makeProgress('crash', 10, 4);
    const before = await rowCounts();

    // The first flusher commits one batch, then dies before acknowledging it.
    let committed: readonly OutboxEntry[] = [];
    const doomed: Flusher = newFlusher({
      afterCommit: (entries) => {
        committed = entries;
        doomed.kill();
      },
    });
    await doomed.start();
    await eventually(() => committed.length > 0, 10_000, 'the first commit');
    await doomed.stop({ drain: false });
    const afterCrash = await rowCounts();
    expect(afterCrash.xpTransactions).toBeGreaterThan(before.xpTransactions);
    // Everything read stays pending: the batch that was committed and the ones after it.
    expect(await pendingTotal()).toBeGreaterThanOrEqual(committed.length);

    // A second flusher claims the dead one's pending entries and replays them, then the rest.
    const heir = newFlusher({ claimIdleMs: 50 });
    await heir.start();
    await eventually(async () => (await pendingTotal()) === 0 && heir.stats.entries >= 10 * 6, 10_000, 'the heir to finish');
    await heir.stop();

    const after = await rowCounts();
    // 10 learners: 4 lessons + 1 badge each = 50 ledger rows, 40 progress rows, 10 awards, 10 snapshots.
    expect(after.xpTransactions - before.xpTransactions).toBe(50);
    expect(after.lessonProgress - before.lessonProgress).toBe(40);
    expect(after.badgeAwards - before.badgeAwards).toBe(10);
    expect(after.learners - before.learners).toBe(10);
    expect(after.enrollments - before.enrollments).toBe(10);
    const knex = t.app.orm.em.getKnex();
    const dupes = await knex('xp_transactions').select('learner_id', 'source_id').count('* as n').groupBy('learner_id', 'reason', 'source_id').having(knex.raw('count(*) > 1'));
    expect(dupes).toEqual([]);
    for (let i = 0; i < 10; i += 1) {
      expect(await t.app.learnerRepo.ledgerTotal(`crash-${i}`)).toBe(47);
      expect((await knex('learners').where({ id: `crash-${i}` }).first()).total_xp).toBe(47);
    }
  });

  it('changes nothing when a batch is replayed, or when an older batch arrives after a newer one', async () => {
    await makeProgress('replay', 3, 2);
    const streams = t.app.keys.outboxes();
    const raw = (await Promise.all(streams.map((s) => t.app.redis.xrange(s, '-', '+')))).flatMap((entries, i) =>
      entries.map(([id, fields]) => {
        const f = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, j) => [fields[2 * j], fields[2 * j + 1]]));
        return { stream: streams[i]!, id, type: f.t!, data: JSON.parse(f.d!) } as OutboxEntry;
      }),
    );
    const entries = raw.filter((e) => e.data.l.startsWith('replay-'));
    expect(entries).toHaveLength(3 * 4);
    const knex = t.app.orm.em.getKnex();

    // Newest first: the snapshot must still end at the newest version.
    const newestFirst = [...entries].sort((a, b) => b.data.v - a.data.v);
    await writeBatch(knex, newestFirst.slice(0, 6));
    await writeBatch(knex, newestFirst.slice(6));
    const snap = await knex('learners').where({ id: 'replay-0' }).first();
    expect(snap).toMatchObject({ total_xp: 27, version: 4 });

    const again = await writeBatch(knex, entries);
    expect(again).toEqual({ entries: 12, learners: 0, enrollments: 0, lessonProgress: 0, xpTransactions: 0, badgeAwards: 0 });
    expect(await knex('learners').where({ id: 'replay-0' }).first()).toMatchObject({ total_xp: 27, version: 4 });

    // Let a flusher consume them too: still nothing new.
    const f = newFlusher();
    await f.start();
    await eventually(async () => (await pendingTotal()) === 0 && f.stats.entries >= 12, 10_000, 'the drain');
    await f.stop();
    expect(f.stats.rows).toBe(0);
  });

  it('recreates its group when Redis loses the streams, and writes what comes after', async () => {
    const f = newFlusher();
    await f.start();
    for (const s of t.app.keys.outboxes()) await t.app.redis.del(s);
    await makeProgress('lost', 2, 1);
    await eventually(async () => {
      const knex = t.app.orm.em.getKnex();
      return (await knex('xp_transactions').whereIn('learner_id', ['lost-0', 'lost-1'])).length === 4;
    }, 10_000, 'rows written after the streams vanished');
    await f.stop();
  });
});
