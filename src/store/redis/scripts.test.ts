import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { candidatesFor, NO_CANDIDATES } from '../../domain/badges/compile';
import type { PreparedEvent } from '../../domain/events/prepare';
import type { EventKind, LearningEvent } from '../../domain/events/types';
import { emptyLearner } from '../../domain/learners/state';
import { readEntries } from '../outbox/entry';
import { BoardStore, parseBoardMoves, type BoardMoves } from './boards';
import { testRedis } from '../../../test/harness';
import { dedicatedConnection, deleteMatching } from './client';
import { Keys } from './keys';
import { LearnerHotStore } from './learners';
import type { ScriptedClient } from './scripts';

const prefix = `test:${randomUUID().slice(0, 8)}:`;
const keys = new Keys(prefix, 8);
let redis: ScriptedClient;
let sub: ScriptedClient;
let store: LearnerHotStore;
// 2026-11-22T10:00:00Z
const now = Date.UTC(2026, 10, 22, 10, 0, 0);

const tagOf = (key: string) => /\{[^}]*\}/.exec(key)?.[0];

function event<K extends EventKind>(kind: K, learnerId: string, payload: LearningEvent<K>['payload'], over: Partial<LearningEvent> = {}): LearningEvent<K> {
  const key = randomUUID();
  return { id: key, idFromCaller: false, key, kind, learnerId, occurredAt: now, recordedAt: now, payload, ...over } as LearningEvent<K>;
}

/** A course shape that never completes (these tests are about other things; completion has its own file). */
const NO_SHAPE = '{"l":[],"q":[]}';

const enroll = (learnerId: string, courseId: string, over: Partial<LearningEvent> = {}): PreparedEvent => ({ event: event('ENROLLED', learnerId, { courseId }, over), courseId, badges: NO_CANDIDATES });

const complete = (learnerId: string, lessonId: string, courseId: string, xp: number, over: Partial<LearningEvent> = {}, badges = NO_CANDIDATES): PreparedEvent => ({
  event: event('LESSON_COMPLETED', learnerId, { lessonId }, over),
  lessonId,
  courseId,
  xp,
  video: false,
  courseShape: NO_SHAPE,
  badges,
});

const attempt = (learnerId: string, quizId: string, courseId: string, score: number, over: Partial<LearningEvent> = {}, badges = NO_CANDIDATES): PreparedEvent => ({
  event: event('QUIZ_ATTEMPTED', learnerId, { quizId, score }, over),
  quizId,
  courseId,
  score,
  passScore: 70,
  xp: 40,
  courseShape: NO_SHAPE,
  badges,
});

/** A WATCHED event of a VIDEO lesson of 100 s (threshold 90 s) paying 30 XP, unless told otherwise. */
const watch = (
  learnerId: string,
  lessonId: string,
  courseId: string,
  seconds: number,
  over: Partial<LearningEvent> = {},
  lesson: { threshold?: number; video?: boolean; xp?: number; toEnd?: boolean; cap?: number } = {},
  badges = NO_CANDIDATES,
): PreparedEvent => ({
  event: event('WATCHED', learnerId, { lessonId, seconds, toEnd: lesson.toEnd }, over),
  lessonId,
  courseId,
  seconds,
  toEnd: lesson.toEnd === true,
  threshold: lesson.threshold ?? 90,
  cap: lesson.cap ?? 1000,
  xp: lesson.xp ?? 30,
  video: lesson.video ?? true,
  courseShape: NO_SHAPE,
  badges,
});

async function outbox(learnerId: string) {
  const raw = (await redis.xrange(keys.outboxOf(learnerId), '-', '+')) as [string, string[]][];
  return readEntries(keys.outboxOf(learnerId), keys.partitionOf(learnerId), raw).entries.filter((e) => e.data.l === learnerId);
}

beforeAll(async () => {
  redis = testRedis();
  sub = dedicatedConnection(redis);
  await Promise.all([redis.connect(), sub.connect()]);
  store = new LearnerHotStore(redis, keys, { eventRecordTtlMs: 60_000, boardPeriodGraceMs: 86_400_000 });
});

afterAll(async () => {
  await deleteMatching(redis, `${prefix}*`);
  redis.disconnect();
  sub.disconnect();
});

describe('key layout', () => {
  it("puts a learner's keys and their partition's outbox under one hash tag", () => {
    for (const id of ['alice@example.com', 'bob', 'ünïcödé', 'a{b}c', 'x}']) {
      const tags = new Set([keys.learner(id), keys.eventRecord(id, 'e-1'), keys.outboxOf(id), keys.deadLetters(keys.partitionOf(id))].map(tagOf));
      expect(tags.size, id).toBe(1);
      expect([...tags][0]).toBe(`{p${keys.partitionOf(id)}}`);
    }
    const board = keys.board('c:ts:all');
    expect(tagOf(board.z)).toBe(tagOf(board.meta));
  });

  it('gives every (type, id) its own key: no id can fake another key or another pair', () => {
    expect(keys.eventRecord('a:b', 'c')).not.toBe(keys.eventRecord('a', 'b:c'));
    const all = new Set<string>();
    for (const id of ['x', 'x:outbox', 'x:deadletter', 'outbox', 'x:learner:x']) {
      for (const k of [keys.learner(id), keys.eventRecord(id, 'e'), keys.outboxOf(id)]) all.add(k);
    }
    // Two outbox keys may coincide (same partition); learner and event keys never do.
    expect([...all].filter((k) => k.includes(':learner:') || k.includes(':event:'))).toHaveLength(10);
    expect(() => new Keys('bad{prefix}:', 4)).toThrow(/braces/);
  });
});

describe('learner scripts', () => {
  it('refuse to run on a learner that is not loaded, writing nothing', async () => {
    expect(await store.run(enroll('ghost', 'c1'))).toEqual({ status: 'not_loaded' });
    expect(await redis.exists(keys.learner('ghost'))).toBe(0);
    expect(await outbox('ghost')).toHaveLength(0);
  });

  it('hydrate once: a second hydration leaves the first in place', async () => {
    expect(await store.hydrate({ ...emptyLearner('hy'), totalXp: 5, version: 3 })).toBe(true);
    expect(await store.hydrate({ ...emptyLearner('hy'), totalXp: 999, version: 9 })).toBe(false);
    expect((await store.counters(['hy']))[0]).toMatchObject({ totalXp: 5, version: 3 });
  });

  it('check the guard, apply the change and append one outbox entry, or do nothing at all', async () => {
    const id = 'guarded';
    await store.hydrate(emptyLearner(id));
    const notEnrolled = await store.run(complete(id, 'l1', 'c1', 40));
    expect(notEnrolled).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
    expect(await outbox(id)).toHaveLength(0);
    expect((await store.counters([id]))[0]).toMatchObject({ totalXp: 0, version: 0 });

    const enrolled = await store.run(enroll(id, 'c1'));
    expect(enrolled).toMatchObject({ status: 'applied', effects: { kind: 'ENROLLED', version: 1, enrollment: { courseId: 'c1', enrolledAt: now, xpEarned: 0 } } });
    expect(await store.run(enroll(id, 'c1'))).toMatchObject({ status: 'rejected', error: { code: 'ALREADY_ENROLLED' } });

    const done = complete(id, 'l1', 'c1', 40, { occurredAt: now + 1000 });
    expect(await store.run(done)).toMatchObject({
      status: 'applied',
      effects: { xpAwarded: 40, totalXp: 40, version: 2, target: 'l1', enrollment: { xpEarned: 40, xpAt: now + 1000, lessonsCompleted: 1 } },
    });
    expect(await store.run(complete(id, 'l1', 'c1', 40))).toMatchObject({ status: 'rejected', error: { code: 'ALREADY_COMPLETED' } });

    const entries = await outbox(id);
    expect(entries.map((e) => e.data.k)).toEqual(['enrolled', 'lesson_completed']);
    expect(entries[1]!.data).toMatchObject({ l: id, e: '', id: done.event.key, v: 2, oa: now + 1000, c: 'c1', ls: 'l1', x: 40, s: { xp: 40, lc: 1, xat: now + 1000 } });
    expect((await store.read(id, ['recentXp']))!.recentXp).toEqual([
      { id: done.event.key, amount: 40, reason: 'lesson_completed', sourceId: 'l1', occurredAt: now + 1000 },
    ]);
  });

  it("remember a caller's event id: a repeat answers the first result and changes nothing", async () => {
    const id = 'retrier';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const first = await store.run(complete(id, 'l1', 'c1', 25, { id: 'client-1', idFromCaller: true }));
    const again = await store.run(complete(id, 'l2', 'c1', 99, { id: 'client-1', idFromCaller: true }));
    expect(first).toMatchObject({ status: 'applied', effects: { xpAwarded: 25, totalXp: 25 } });
    expect(again).toMatchObject({ status: 'duplicate', effects: { xpAwarded: 25, totalXp: 25, target: 'l1', version: 2, enrollment: null } });
    expect(await outbox(id)).toHaveLength(2);
    expect(await redis.pttl(keys.eventRecord(id, 'client-1'))).toBeGreaterThan(50_000);
  });

  it('award due badges in the same step, once each, cascading through badge XP', async () => {
    const id = 'badger';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const badges = candidatesFor(
      [
        { id: 'first', xpReward: 50, criteria: { type: 'lessons_completed', value: 1, course_id: 'c1' } },
        // Reached only through the first badge's XP.
        { id: 'xp60', xpReward: 0, criteria: { type: 'xp_total', value: 60 } },
        { id: 'two', xpReward: 0, criteria: { all: [{ type: 'lessons_completed', value: 2 }, { type: 'xp_total', value: 1 }] } },
      ],
      null,
      new Set(['xp', 'lc', 'cc:c1']),
    );
    const one = await store.run(complete(id, 'l1', 'c1', 10, {}, badges));
    expect(one).toMatchObject({ status: 'applied', effects: { xpAwarded: 10, totalXp: 60 } });
    expect((one as { effects: { badges: { badgeId: string }[] } }).effects.badges.map((b) => b.badgeId)).toEqual(['first', 'xp60']);
    const two = await store.run(complete(id, 'l2', 'c1', 10, {}, badges));
    expect((two as { effects: { badges: { badgeId: string; xp: number }[] } }).effects.badges).toEqual([{ badgeId: 'two', xp: 0, awardedAt: now }]);
    const read = await store.read(id, ['badges', 'recentXp']);
    expect([...read!.badges!.keys()]).toEqual(['first', 'xp60', 'two']);
    expect(read!.recentXp!.map((r) => [r.reason, r.amount])).toEqual([
      ['lesson_completed', 10],
      ['badge_unlocked', 50],
      ['lesson_completed', 10],
    ]);
  });

  it('leave nothing half applied when a script fails after its checks', async () => {
    const id = 'broken';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const bad = complete(id, 'l1', 'c1', 10, {}, { ids: ['x'], json: '[[not json', fields: ['b:x'] });
    await expect(store.run(bad)).rejects.toThrow(/cjson|json|Expected/i);
    expect((await store.counters([id]))[0]).toMatchObject({ totalXp: 0, version: 1, lessonsCompleted: 0 });
    expect(await redis.hexists(keys.learner(id), 'l:l1')).toBe(0);
    expect(await outbox(id)).toHaveLength(1);
  });

  it('read only the parts asked for, however long the history', async () => {
    const id = 'veteran';
    await store.hydrate({ ...emptyLearner(id), lessons: new Map(Array.from({ length: 500 }, (_, i) => [`old-${i}`, now])), lessonsCompleted: 500 });
    await store.run(enroll(id, 'c1'));
    const applied = await store.run(complete(id, 'l1', 'c1', 5));
    expect(applied).toMatchObject({ status: 'applied', effects: { totalXp: 5, version: 2, enrollment: { lessonsCompleted: 1 } } });
    const read = await store.read(id, ['enrollments']);
    expect(read!.counters).toMatchObject({ totalXp: 5, lessonsCompleted: 501 });
    expect(read!.enrollments!.map((e) => e.courseId)).toEqual(['c1']);
    expect(read!.badges).toBeUndefined();
  });

  it('hydrate and read a learner too big for one command (fields go in slices)', async () => {
    const id = 'hoarder';
    const courses = Array.from({ length: 700 }, (_, i) => `big-${i}`);
    await store.hydrate({
      ...emptyLearner(id),
      lessons: new Map(Array.from({ length: 5000 }, (_, i) => [`old-${i}`, now])),
      lessonsCompleted: 5000,
      enrollments: new Map(courses.map((courseId, i) => [courseId, { id: `e-${i}`, courseId, enrolledAt: now - i, xpEarned: i, xpAt: i ? now : null, lessonsCompleted: i % 7, quizzesPassed: 0, watchSeconds: 0, completedAt: null, certificateCode: null }])),
    });
    await store.run(complete(id, 'old-4999', 'big-0', 5)).then((r) => expect(r).toMatchObject({ status: 'rejected', error: { code: 'ALREADY_COMPLETED' } }));
    const read = await store.read(id, ['enrollments']);
    expect(read!.counters).toMatchObject({ lessonsCompleted: 5000 });
    expect(read!.enrollments).toHaveLength(700);
    expect(read!.enrollments![699]).toMatchObject({ id: 'e-699', courseId: 'big-699', enrolledAt: now - 699, xpEarned: 699, lessonsCompleted: 699 % 7 });
  });
});

describe('board scripts', () => {
  const boardId = 'c:script:all';
  const messages: BoardMoves[] = [];
  let boards: BoardStore;
  let loads = 0;
  const up = (learnerId: string, score: number, reachedAt: number, version: number, epoch = 7) => ({ learnerId, score, reachedAt, epoch, version });

  beforeAll(async () => {
    boards = new BoardStore(redis, keys, async () => {
      loads += 1;
      return [{ learnerId: 'seed', score: 5, reachedAt: now - 1, epoch: 7, version: 1 }];
    }, { periodGraceMs: 86_400_000 });
    sub.on('message', (_ch: string, msg: string) => messages.push(parseBoardMoves(msg)));
    await sub.subscribe(keys.channel('board'));
  });

  it('load a board that is not in Redis before the first read, once', async () => {
    await Promise.all([boards.count(boardId), boards.count(boardId), boards.range(boardId, 0, 5)]);
    expect(loads).toBe(1);
    expect(await boards.range(boardId, 0, 5)).toEqual([{ rank: 1, learnerId: 'seed', score: 5 }]);
  });

  it('rank equal scores by who reached them first, and drop stale versions, many learners per call', async () => {
    expect(await boards.setScores(boardId, [up('late', 100, now + 10, 1), up('early', 100, now + 5, 1), up('top', 150, now + 20, 1)])).toBe(3);
    expect((await boards.range(boardId, 0, 10)).map((e) => [e.learnerId, e.rank, e.score])).toEqual([
      ['top', 1, 150],
      ['early', 2, 100],
      ['late', 3, 100],
      ['seed', 4, 5],
    ]);
    // An update that raced behind a newer one changes nothing; a same-score update keeps the member.
    expect(await boards.setScores(boardId, [up('top', 120, now + 15, 1), up('early', 100, now + 99, 2)])).toBe(0);
    expect(await boards.setScores(boardId, [up('late', 160, now + 30, 2)])).toBe(1);
    expect(await boards.ranks(boardId, ['late', 'top', 'early', 'nobody'])).toEqual([
      { rank: 1, learnerId: 'late', score: 160 },
      { rank: 2, learnerId: 'top', score: 150 },
      { rank: 3, learnerId: 'early', score: 100 },
      null,
    ]);
  });

  it('announce every move on the board channel, in board order, with before and after', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const moves = messages.filter((m) => m.boardId === boardId).flatMap((m) => m.moves);
    expect(moves.map((m) => m.seq)).toEqual(moves.map((_, i) => moves[0]!.seq + i));
    expect(moves.at(-1)).toMatchObject({ learnerId: 'late', previousScore: 100, score: 160 });
    expect((await boards.position(boardId, 'late'))).toMatchObject({ rank: 1, score: 160, seq: moves.at(-1)!.seq });
  });

  it('take a rebuilt learner (a newer epoch) whatever their version, and refuse an older epoch', async () => {
    // 'late' is at (7, 2) with 160; their hash was rebuilt at epoch 9 with version 1.
    expect(await boards.setScores(boardId, [up('late', 170, now + 40, 1, 9)])).toBe(1);
    expect(await boards.setScores(boardId, [up('late', 999, now + 41, 50, 7)])).toBe(0);
    expect(await boards.setScores(boardId, [up('late', 160, now + 30, 2, 9)])).toBe(1);
    expect(await boards.ranks(boardId, ['late'])).toEqual([{ rank: 1, learnerId: 'late', score: 160 }]);
  });

  it('keep the sequence going forward, with a new epoch, when the board is replaced or lost', async () => {
    const before = await boards.position(boardId, 'late');
    await boards.replace(boardId, [{ learnerId: 'late', score: 160, reachedAt: now + 30, epoch: 7, version: 2 }]);
    const replaced = await boards.position(boardId, 'late');
    expect(replaced.epoch).not.toBe(before.epoch);
    expect(replaced.seq).toBe(before.seq);
    // Lost: a fresh install starts from the install time x 1000, ahead of anything before.
    await redis.del(keys.board(boardId).z, keys.board(boardId).meta);
    const lost = await boards.position(boardId, 'seed');
    expect(lost.seq).toBeGreaterThan(before.seq);
    expect(lost.rank).toBe(1);
  });
});

describe('quiz attempts', () => {
  it('number attempts, keep the best score and its running mean, and pay the first pass only', async () => {
    const id = 'quizzer';
    await store.hydrate(emptyLearner(id));
    expect(await store.run(attempt(id, 'q1', 'c1', 90))).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
    expect(await outbox(id)).toHaveLength(0);
    await store.run(enroll(id, 'c1'));
    const results = [];
    for (const [quiz, score] of [['q1', 50], ['q1', 60], ['q1', 80], ['q1', 95], ['q2', 40], ['q1', 30]] as const) {
      results.push(await store.run(attempt(id, quiz, 'c1', score)));
    }
    expect(results.map((r) => (r as { effects: { attempt: { attemptNumber: number; passed: boolean } } }).effects.attempt)).toMatchObject([
      { attemptNumber: 1, passed: false },
      { attemptNumber: 2, passed: false },
      { attemptNumber: 3, passed: true },
      { attemptNumber: 4, passed: true },
      { attemptNumber: 1, passed: false },
      { attemptNumber: 5, passed: false },
    ]);
    expect(results.map((r) => (r as { effects: { xpAwarded: number } }).effects.xpAwarded)).toEqual([0, 0, 40, 0, 0, 0]);
    const h = await redis.hgetall(keys.learner(id));
    expect(h).toMatchObject({ 'qn:q1': '5', 'qb:q1': '95', 'qn:q2': '1', 'qb:q2': '40', qt: '6', qpc: '1', qbs: '135', qbn: '2', qbm: '95', 'cq:c1': '1', xp: '40', 'ex:c1': '40' });
    expect(h['qp:q1']).toBe(String(now));
    expect(h['qp:q2']).toBeUndefined();
    const entries = (await outbox(id)).filter((e) => e.data.k === 'quiz_attempted');
    expect(entries.map((e) => e.data)).toMatchObject([
      { q: 'q1', n: 1, sc: 50, ps: false, x: 0, b: 50, ce: { cq: 0 } },
      { q: 'q1', n: 2, sc: 60, ps: false, x: 0, b: 60 },
      { q: 'q1', n: 3, sc: 80, ps: true, x: 40, b: 80, ce: { cq: 1, x: 40 } },
      { q: 'q1', n: 4, sc: 95, ps: true, x: 0, b: 95 },
      { q: 'q2', n: 1, sc: 40, ps: false, x: 0, b: 40 },
      { q: 'q1', n: 5, sc: 30, ps: false, x: 0, b: 95 },
    ]);
    expect((await store.read(id, ['recentXp']))!.recentXp!.map((r) => [r.reason, r.sourceId, r.amount])).toEqual([['quiz_passed', 'q1', 40]]);
    expect((await store.read(id, ['enrollments']))!.enrollments![0]).toMatchObject({ courseId: 'c1', quizzesPassed: 1, xpEarned: 40 });
  });

  it("answer a repeat of a caller's event id with the first attempt", async () => {
    const id = 'quiz-retrier';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const first = await store.run(attempt(id, 'q1', 'c1', 75, { id: 'try-1', idFromCaller: true, occurredAt: now + 5 }));
    const again = await store.run(attempt(id, 'q1', 'c1', 75, { id: 'try-1', idFromCaller: true, occurredAt: now + 9 }));
    const firstAttempt = (first as { effects: { attempt: unknown } }).effects.attempt;
    expect(firstAttempt).toMatchObject({ quizId: 'q1', score: 75, attemptNumber: 1, passed: true, attemptedAt: now + 5 });
    expect(again).toMatchObject({ status: 'duplicate', effects: { kind: 'QUIZ_ATTEMPTED', xpAwarded: 40, totalXp: 40, target: 'q1', attempt: firstAttempt } });
    expect(await redis.hget(keys.learner(id), 'qn:q1')).toBe('1');
  });
});

describe('watch time', () => {
  const effectsOf = (o: unknown) => (o as { effects: { xpAwarded: number; totalXp: number; watch: unknown } }).effects;

  it("stop adding at the lesson's cap: what is past it is accepted and adds nothing", async () => {
    const id = 'binge';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const totals = [];
    for (const seconds of [400, 400, 400, 5]) {
      const r = effectsOf(await store.run(watch(id, 'r2', 'c1', seconds, {}, { threshold: 0, video: false, cap: 1000 })));
      totals.push((r.watch as { seconds: number }).seconds);
    }
    expect(totals).toEqual([400, 800, 1000, 1000]);
    expect(await redis.hmget(keys.learner(id), 'w:r2', 'cw:c1', 'wt')).toEqual(['1000', '1000', '1000']);
    expect((await outbox(id)).filter((e) => e.data.k === 'watched').map((e) => (e.data as { sec: number }).sec)).toEqual([400, 400, 200, 0]);
  });

  it('add seconds to the lesson, the course and the learner, and complete a video once at its threshold', async () => {
    const id = 'watcher';
    await store.hydrate(emptyLearner(id));
    expect(await store.run(watch(id, 'v1', 'c1', 10))).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
    expect(await outbox(id)).toHaveLength(0);
    await store.run(enroll(id, 'c1'));
    const steps = [];
    for (const [seconds, at] of [[50, now + 1], [39, now + 3], [1, now + 2], [100, now + 4]] as const) {
      steps.push(effectsOf(await store.run(watch(id, 'v1', 'c1', seconds, { occurredAt: at }))));
    }
    expect(steps.map((e) => [e.xpAwarded, e.totalXp, e.watch])).toEqual([
      [0, 0, { seconds: 50, completed: false, completedNow: false }],
      [0, 0, { seconds: 89, completed: false, completedNow: false }],
      [30, 30, { seconds: 90, completed: true, completedNow: true }],
      [0, 30, { seconds: 190, completed: true, completedNow: false }],
    ]);
    await store.run(watch(id, 'r1', 'c1', 500, {}, { threshold: 0, video: false }));
    const h = await redis.hgetall(keys.learner(id));
    // The latest watch time stays the latest, whatever order events arrive in.
    expect(h).toMatchObject({ 'w:v1': '190', 'wu:v1': String(now + 4), 'w:r1': '500', 'cw:c1': '690', wt: '690', vc: '1', lc: '1', 'cc:c1': '1', xp: '30', 'ex:c1': '30' });
    expect(h['l:v1']).toBe(String(now + 2));
    expect(h['l:r1']).toBeUndefined();
    // completeLesson after the watch completed it: already completed, nothing paid.
    expect(await store.run(complete(id, 'v1', 'c1', 30))).toMatchObject({ status: 'rejected', error: { code: 'ALREADY_COMPLETED' } });
    const entries = (await outbox(id)).filter((e) => e.data.k === 'watched');
    expect(entries.map((e) => e.data)).toMatchObject([
      { ls: 'v1', sec: 50, w: 50, wt: 50, cd: false, dn: false, x: 0, vd: true, ce: { cw: 50, cc: 0 } },
      { ls: 'v1', sec: 39, w: 89, wt: 89, cd: false, x: 0 },
      { ls: 'v1', sec: 1, w: 90, wt: 90, cd: true, dn: true, x: 30, ce: { cw: 90, cc: 1, x: 30 } },
      { ls: 'v1', sec: 100, w: 190, wt: 190, cd: false, dn: true, x: 0 },
      { ls: 'r1', sec: 500, w: 500, wt: 690, cd: false, dn: false, vd: false, ce: { cw: 690 } },
    ]);
    expect((await store.read(id, ['enrollments']))!.enrollments![0]).toMatchObject({ courseId: 'c1', watchSeconds: 690, lessonsCompleted: 1 });
    expect(await store.lessonStates(id, ['v1', 'r1', 'x9'])).toEqual(
      new Map([
        ['v1', { completedAt: now + 2, watchSeconds: 190, watchedAt: now + 4 }],
        ['r1', { completedAt: null, watchSeconds: 500, watchedAt: now }],
        ['x9', { completedAt: null, watchSeconds: 0, watchedAt: null }],
      ]),
    );
  });

  it('share the completion with completeLesson: whichever comes first pays, and completeLesson counts a video in vc', async () => {
    const id = 'watch-after-complete';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    expect(effectsOf(await store.run({ ...complete(id, 'v1', 'c1', 30), video: true } as PreparedEvent)).xpAwarded).toBe(30);
    expect(effectsOf(await store.run(watch(id, 'v1', 'c1', 100))).watch).toEqual({ seconds: 100, completed: true, completedNow: false });
    expect(await redis.hmget(keys.learner(id), 'xp', 'lc', 'vc', 'w:v1')).toEqual(['30', '1', '1', '100']);
  });

  it('add only what is missing to the duration with toEnd, and nothing once it is reached', async () => {
    const id = 'to-the-end';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    await store.run(watch(id, 'v1', 'c1', 30));
    const end = effectsOf(await store.run(watch(id, 'v1', 'c1', 100, {}, { toEnd: true })));
    expect(end).toMatchObject({ xpAwarded: 30, watch: { seconds: 100, completedNow: true } });
    const again = effectsOf(await store.run(watch(id, 'v1', 'c1', 100, {}, { toEnd: true })));
    expect(again).toMatchObject({ xpAwarded: 0, watch: { seconds: 100, completed: true, completedNow: false } });
    expect(await redis.hmget(keys.learner(id), 'w:v1', 'wt', 'cw:c1')).toEqual(['100', '100', '100']);
    expect((await outbox(id)).filter((e) => e.data.k === 'watched').map((e) => (e.data as { sec: number }).sec)).toEqual([30, 70, 0]);
  });

  it("answer a repeat of a caller's event id with the first result", async () => {
    const id = 'watch-retrier';
    await store.hydrate(emptyLearner(id));
    await store.run(enroll(id, 'c1'));
    const first = await store.run(watch(id, 'v1', 'c1', 95, { id: 'w-1', idFromCaller: true }));
    const again = await store.run(watch(id, 'v1', 'c1', 95, { id: 'w-1', idFromCaller: true }));
    expect(again).toMatchObject({
      status: 'duplicate',
      effects: { kind: 'WATCHED', xpAwarded: 30, totalXp: 30, target: 'v1', watch: effectsOf(first).watch },
    });
    expect(await redis.hget(keys.learner(id), 'w:v1')).toBe('95');
  });
});

describe('a learner nobody has seen', () => {
  it('gets a hash only when an event applies: a refused one leaves nothing in Redis', async () => {
    const id = 'newcomer';
    expect(await store.run(complete(id, 'l1', 'c1', 10), true)).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
    expect(await redis.exists(keys.learner(id))).toBe(0);
    expect(await outbox(id)).toHaveLength(0);
    expect(await store.run(enroll(id, 'c1'), true)).toMatchObject({ status: 'applied', effects: { version: 1 } });
    expect((await store.counters([id]))[0]).toMatchObject({ version: 1, totalXp: 0, lessonsCompleted: 0 });
    // Without the flag a missing hash still means: not loaded.
    expect(await store.run(enroll('someone-else', 'c1'))).toEqual({ status: 'not_loaded' });
  });
});

describe('access (LESSON_ACCESSED, VIDEO_STARTED)', () => {
  const access = (learnerId: string, lessonId: string, courseId: string, over: Partial<LearningEvent> = {}): PreparedEvent => ({
    event: event('ACCESSED', learnerId, { lessonId }, over),
    lessonId,
    courseId,
    badges: NO_CANDIDATES,
  });

  it('moves the version and appends an entry, completing and paying nothing; refuses a course the learner is not in', async () => {
    const id = 'opener';
    expect(await store.run(access(id, 'l1', 'c1'))).toEqual({ status: 'not_loaded' });
    // A stranger not enrolled: refused, and nothing is written.
    expect(await store.run(access(id, 'l1', 'c1'), true)).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
    expect(await redis.exists(keys.learner(id))).toBe(0);
    await store.run(enroll(id, 'c1'), true);
    const before = await redis.hgetall(keys.learner(id));
    const opened = await store.run(access(id, 'l1', 'c1', { id: 'a-1', idFromCaller: true }));
    expect(opened).toMatchObject({ status: 'applied', effects: { kind: 'ACCESSED', version: 2, xpAwarded: 0, totalXp: 0, target: 'l1', badges: [] } });
    expect(await redis.hgetall(keys.learner(id))).toEqual({ ...before, v: '2' });
    const entries = (await outbox(id)).filter((e) => e.data.k === 'accessed');
    expect(entries.map((e) => e.data)).toEqual([expect.objectContaining({ k: 'accessed', c: 'c1', ls: 'l1', v: 2, e: 'a-1' })]);

    // A repeat of the caller's id answers the first result and changes nothing.
    expect(await store.run(access(id, 'l1', 'c1', { id: 'a-1', idFromCaller: true }))).toMatchObject({
      status: 'duplicate',
      effects: { kind: 'ACCESSED', version: 2, xpAwarded: 0, target: 'l1' },
    });
    expect(await redis.hget(keys.learner(id), 'v')).toBe('2');
    expect(await store.run(access(id, 'l9', 'c2'))).toMatchObject({ status: 'rejected', error: { code: 'NOT_ENROLLED' } });
  });
});
