import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyLearner } from '../../domain/learners/state';
import { BoardStore, parseBoardMove, type BoardMove } from './boards';
import { createRedis, deleteMatching } from './client';
import { Keys } from './keys';
import { LearnerHotStore, LearnerNotLoaded } from './learners';
import type { ScriptedRedis } from './scripts';

const prefix = `test:${randomUUID().slice(0, 8)}:`;
const keys = new Keys(prefix, 8);
let redis: ScriptedRedis;
let sub: ScriptedRedis;
let store: LearnerHotStore;
const now = Date.UTC(2026, 10, 22, 10, 0, 0); // 2026-11-22T10:00:00Z

const needs = { courseIds: ['c1'], badgeIds: ['b1'] };

const tagOf = (key: string) => /\{[^}]*\}/.exec(key)?.[0];

async function outboxLength(learnerId: string): Promise<number> {
  return redis.xlen(keys.outboxOf(learnerId));
}

beforeAll(async () => {
  redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  sub = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  await Promise.all([redis.connect(), sub.connect()]);
  store = new LearnerHotStore(redis, keys);
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
  sub.disconnect();
});

describe('key layout', () => {
  it("puts a learner's keys and their partition's outbox under one hash tag", () => {
    for (const id of ['alice@example.com', 'bob', 'ünïcödé', 'a{b}c']) {
      const tags = new Set([keys.learner(id), keys.recentXp(id), keys.outboxOf(id)].map(tagOf));
      expect(tags.size, id).toBe(1);
      expect([...tags][0]).toBe(`{p${keys.partitionOf(id)}}`);
    }
    const board = keys.board('c:ts:all');
    expect(tagOf(board.z)).toBe(tagOf(board.meta));
  });
});

describe('learner scripts', () => {
  it('refuse to run on a learner that is not loaded', async () => {
    await expect(store.enroll('ghost', 'c1', randomUUID(), now, needs)).rejects.toBeInstanceOf(LearnerNotLoaded);
    expect(await outboxLength('ghost')).toBe(0);
  });

  it('hydrate once: a second hydration leaves the first in place', async () => {
    expect(await store.hydrate({ ...emptyLearner('hy'), totalXp: 5, version: 3 })).toBe(true);
    expect(await store.hydrate({ ...emptyLearner('hy'), totalXp: 999, version: 9 })).toBe(false);
    expect(await store.read('hy')).toMatchObject({ totalXp: 5, version: 3 });
  });

  it('check the guard, apply the change and append one outbox entry, or do nothing at all', async () => {
    const id = 'guarded';
    await store.hydrate(emptyLearner(id));
    const lesson = { id: 'l1', courseId: 'c1', xp: 40 };

    await expect(store.completeLesson(id, lesson, randomUUID(), now, needs)).rejects.toMatchObject({ code: 'NOT_ENROLLED' });
    expect(await outboxLength(id)).toBe(0);
    expect(await store.read(id)).toMatchObject({ totalXp: 0, version: 0, lessonsCompleted: 0 });

    const enrolled = await store.enroll(id, 'c1', 'e-1', now, needs);
    expect(enrolled.enrollments.get('c1')).toEqual({ id: 'e-1', courseId: 'c1', enrolledAt: now, xpEarned: 0, xpAt: null, lessonsCompleted: 0, completedAt: null });
    await expect(store.enroll(id, 'c1', 'e-2', now, needs)).rejects.toMatchObject({ code: 'ALREADY_ENROLLED' });
    expect(await outboxLength(id)).toBe(1);

    const tx = randomUUID();
    const done = await store.completeLesson(id, lesson, tx, now + 1000, needs);
    expect(done).toMatchObject({ totalXp: 40, version: 2, xpAt: now + 1000, lessonsCompleted: 1 });
    expect(done.enrollments.get('c1')).toMatchObject({ xpEarned: 40, xpAt: now + 1000, lessonsCompleted: 1 });
    await expect(store.completeLesson(id, lesson, randomUUID(), now + 2000, needs)).rejects.toMatchObject({ code: 'ALREADY_COMPLETED' });
    expect(await outboxLength(id)).toBe(2);

    const entries = await redis.xrange(keys.outboxOf(id), '-', '+');
    const last = entries.filter(([, f]) => JSON.parse(f[3]!).l === id).at(-1)!;
    expect(last[1][0]).toBe('t');
    expect(last[1][1]).toBe('lesson_completed');
    expect(JSON.parse(last[1][3]!)).toEqual({
      l: id, v: 2, c: 'c1', ls: 'l1', at: now + 1000, x: 40, tx, ei: 'e-1', eat: now, cx: 40, cxat: now + 1000,
      s: { xp: 40, lc: 1, xat: now + 1000 },
    });
    expect(await store.recentXp(id)).toEqual([{ id: tx, amount: 40, reason: 'lesson_completed', sourceId: 'l1', occurredAt: now + 1000 }]);
  });

  it('return the counters and only the fields asked for, however long the history', async () => {
    const id = 'veteran';
    await store.hydrate({ ...emptyLearner(id), lessons: new Map(Array.from({ length: 500 }, (_, i) => [`old-${i}`, now])), lessonsCompleted: 500 });
    await store.enroll(id, 'c1', 'e-9', now, needs);
    const s = await store.completeLesson(id, { id: 'l1', courseId: 'c1', xp: 5 }, randomUUID(), now, { courseIds: ['c1'], badgeIds: [] });
    expect(s).toMatchObject({ totalXp: 5, lessonsCompleted: 501, version: 2 });
    expect(s.lessons.size).toBe(0);
    expect([...s.enrollments.keys()]).toEqual(['c1']);
    expect(s.enrollments.get('c1')!.lessonsCompleted).toBe(1);
    // A full read still has everything.
    expect((await store.read(id))!.lessons.size).toBe(501);
  });

  it('award a badge once', async () => {
    const id = 'badger';
    await store.hydrate(emptyLearner(id));
    const s = await store.awardBadge(id, 'b1', 10, randomUUID(), now, needs);
    expect(s).toMatchObject({ totalXp: 10, version: 1 });
    expect(s.badges.get('b1')).toBe(now);
    await expect(store.awardBadge(id, 'b1', 10, randomUUID(), now, needs)).rejects.toThrow(/already held/);
    expect((await store.read(id))!.totalXp).toBe(10);
  });
});

describe('board scripts', () => {
  const boardId = 'c:script:all';
  const moves: BoardMove[] = [];
  let boards: BoardStore;
  let loads = 0;

  beforeAll(async () => {
    boards = new BoardStore(redis, keys, async () => {
      loads += 1;
      return [{ learnerId: 'seed', score: 5, reachedAt: now - 1, version: 1 }];
    });
    sub.on('message', (_ch: string, msg: string) => moves.push(parseBoardMove(msg)));
    await sub.subscribe(keys.channel('board'));
  });

  it('loads a board that is not in Redis before the first write, once', async () => {
    await Promise.all([boards.count(boardId), boards.count(boardId), boards.range(boardId, 0, 5)]);
    expect(loads).toBe(1);
    expect(await boards.range(boardId, 0, 5)).toEqual([{ rank: 1, learnerId: 'seed', score: 5 }]);
  });

  it('rank equal scores by who reached them first, and drop stale versions', async () => {
    await boards.setScore(boardId, 'late', 100, now + 10, 1);
    await boards.setScore(boardId, 'early', 100, now + 5, 1);
    await boards.setScore(boardId, 'top', 150, now + 20, 1);
    expect((await boards.range(boardId, 0, 10)).map((e) => [e.learnerId, e.rank, e.score])).toEqual([
      ['top', 1, 150],
      ['early', 2, 100],
      ['late', 3, 100],
      ['seed', 4, 5],
    ]);
    // An update that raced behind a newer one changes nothing.
    expect(await boards.setScore(boardId, 'top', 120, now + 15, 1)).toBeNull();
    expect(await boards.setScore(boardId, 'late', 160, now + 30, 2)).toEqual({ previousRank: 3, rank: 1, seq: expect.any(Number) });
    expect(await boards.ranks(boardId, ['late', 'top', 'nobody'])).toEqual([
      { rank: 1, learnerId: 'late', score: 160 },
      { rank: 2, learnerId: 'top', score: 150 },
      null,
    ]);
  });

  it('announce every move on the board channel, in board order, with before and after', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const mine = moves.filter((m) => m.boardId === boardId);
    expect(mine.map((m) => m.seq)).toEqual(mine.map((_, i) => mine[0]!.seq + i));
    expect(mine.at(-1)).toMatchObject({ learnerId: 'late', previousRank: 3, previousScore: 100, rank: 1, score: 160, count: 4 });
    expect((await boards.position(boardId, 'late')).seq).toBe(mine.at(-1)!.seq);
  });
});
