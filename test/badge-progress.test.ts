import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadgeCriteria } from '../src/domain/badges/criteria';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// me.badgeProgress through GraphQL: the badges a learner has not earned, closest first, read
// from the counters the scripts keep in the learner's hash.
const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "bp": 12 READING lessons, the first paying 120 XP and the others 60, so 9 lessons
// done is 600 XP. Course "bq": one lesson and one quiz.
const BADGES: { id: string; criteria: BadgeCriteria }[] = [
  { id: 'bp-xp1000', criteria: { type: 'xp_total', value: 1000 } },
  { id: 'bp-first', criteria: { type: 'lessons_completed', value: 1 } },
  { id: 'bp-ten', criteria: { type: 'lessons_completed', value: 10 } },
  // The same course twice: can never be earned, so never listed.
  { id: 'bp-twice', criteria: { type: 'courses_completed', value: 2, course_id: 'bp' } },
  { id: 'bp-streak', criteria: { type: 'streak_days', value: 7 } },
  // Default table: 600 XP is level 2 of 3.
  { id: 'bp-level3', criteria: { type: 'level_reached', value: 3 } },
  // An attempt at bq's quiz and 5 lessons of bp: the weakest part decides.
  { id: 'bp-tried', criteria: { all: [{ type: 'quiz_score', min_score: 0, quiz_id: 'bq-m1-q1' }, { type: 'lessons_completed', value: 5, course_id: 'bp' }] } },
];

const PROGRESS = 'query($f: Int) { me { badgeProgress(first: $f) { badge { id } current target progress } } }';

async function act(query: string, variables: Record<string, unknown>) {
  const res = await t.gql(query, { variables, token: service });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!;
}

const complete = (learnerId: string, lessonId: string) =>
  act('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { badgesUnlocked { badge { id } } } }', { l: learnerId, x: lessonId });

/** A learner enrolled in bp with its first `lessons` lessons completed. */
async function learnerWith(learnerId: string, lessons: number) {
  await act('mutation($l: ID) { enroll(courseId: "bp", learnerId: $l) { id } }', { l: learnerId });
  for (let i = 1; i <= lessons; i += 1) await complete(learnerId, `bp-l${i}`);
}

async function progressOf(learnerId: string, first?: number) {
  const res = await t.gql(PROGRESS, { variables: first === undefined ? {} : { f: first }, token: await tokenFor(learnerId) });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.me.badgeProgress.map((p: { badge: { id: string }; current: number; target: number; progress: number }) => [p.badge.id, p.current, p.target, p.progress]);
}

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  const bp = makeCourse({ id: 'bp', modules: 2, lessons: 6, xpOf: (i) => (i === 0 ? 120 : 60) });
  for (const m of bp.modules) for (const l of m.lessons) l.kind = 'READING';
  await t.app.services.catalog.upsertCourse(bp);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'bq', modules: 1, lessons: 1, quizzes: 1 }));
  for (const b of BADGES) await t.app.services.catalog.upsertBadge({ ...b, name: b.id, xpReward: 0 });
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('me.badgeProgress', () => {
  it('puts the badge one lesson away before the one 400 XP away, and leaves out what is earned or never earnable', async () => {
    await learnerWith('bp-amy', 9);
    expect(await t.app.redis.hmget(t.app.keys.learner('bp-amy'), 'xp', 'lc')).toEqual(['600', '9']);
    expect(await progressOf('bp-amy', 10)).toEqual([
      ['bp-ten', 9, 10, 0.9],
      ['bp-level3', 2, 3, 2 / 3],
      ['bp-xp1000', 600, 1000, 0.6],
      // Active today (the lessons above): a 1-day streak.
      ['bp-streak', 1, 7, 1 / 7],
      // 9 of 5 lessons of bp, but no attempt at the quiz yet: the attempt decides.
      ['bp-tried', 0, 1, 0],
    ]);
    // The default is 5, and first cuts the list.
    expect((await progressOf('bp-amy')).length).toBe(5);
    expect(await progressOf('bp-amy', 2)).toEqual([
      ['bp-ten', 9, 10, 0.9],
      ['bp-level3', 2, 3, 2 / 3],
    ]);
    expect(await progressOf('bp-amy', 0)).toEqual([]);
  });

  it('reads its own writes: a badge earned by the last call is gone at once', async () => {
    await learnerWith('bp-ben', 9);
    const done = await complete('bp-ben', 'bp-l10');
    expect(done.completeLesson.badgesUnlocked).toEqual([{ badge: { id: 'bp-ten' } }]);
    // At once, before anything is written behind: 660 XP.
    expect((await progressOf('bp-ben', 10)).map((p: unknown[]) => p[0])).toEqual(['bp-level3', 'bp-xp1000', 'bp-streak', 'bp-tried']);
    expect(await progressOf('bp-ben', 2)).toEqual([
      ['bp-level3', 2, 3, 2 / 3],
      ['bp-xp1000', 660, 1000, 0.66],
    ]);
  });

  it('loads a learner Redis does not hold from Postgres first', async () => {
    await learnerWith('bp-cat', 3);
    await act('mutation($l: ID) { enroll(courseId: "bq", learnerId: $l) { id } }', { l: 'bp-cat' });
    await act('mutation($l: ID) { submitQuizAttempt(quizId: "bq-m1-q1", score: 0, learnerId: $l) { attempt { passed } } }', { l: 'bp-cat' });
    const before = await progressOf('bp-cat', 10);
    // 3 of 5 lessons, the attempt made (a score of 0 is an attempt): the lessons decide.
    expect(before[0]).toEqual(['bp-tried', 3, 5, 0.6]);
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner('bp-cat'));
    expect(await progressOf('bp-cat', 10)).toEqual(before);
    expect(await t.app.redis.hget(t.app.keys.learner('bp-cat'), 'lc')).toBe('3');
  });

  it('lists every earnable badge at 0 for a learner nobody has seen, writing nothing', async () => {
    expect((await progressOf('bp-nobody', 50)).map((p: unknown[]) => [p[0], p[3]])).toEqual(
      ['bp-xp1000', 'bp-first', 'bp-ten', 'bp-streak', 'bp-level3', 'bp-tried'].map((id) => [id, 0]),
    );
    expect(await t.app.redis.exists(t.app.keys.learner('bp-nobody'))).toBe(0);
  });

  it('costs one HMGET of the learner hash, and one more for the live streak when a streak badge asks', async () => {
    await learnerWith('bp-dan', 1);
    const key = t.app.keys.learner('bp-dan');
    const sent: string[] = [];
    const client = t.app.redis as unknown as { sendCommand: (cmd: { name: string; args?: unknown[] }) => unknown };
    const original = client.sendCommand;
    client.sendCommand = function (this: unknown, cmd: { name: string; args?: unknown[] }) {
      if ((cmd.args ?? []).some((a) => typeof a === 'string' && a.includes(key))) sent.push(cmd.name);
      return original.call(this, cmd);
    };
    try {
      await progressOf('bp-dan', 10);
    } finally {
      client.sendCommand = original;
    }
    // The counters, and the streak as it stands today (a streak_days badge is in the catalog).
    expect(sent).toEqual(['hmget', 'hmget']);
  });

  it('refuses first beyond 50 or below 0 with BAD_USER_INPUT on first', async () => {
    const token = await tokenFor('bp-amy');
    for (const f of [51, -1]) {
      const res = await t.gql(PROGRESS, { variables: { f }, token });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });
});

describe('upsertBadge', () => {
  it('refuses a malformed rule deep inside all/any, naming its path', async () => {
    const admin = await tokenFor('bp-admin', ['admin']);
    const UPSERT = 'mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }';
    const cases: [unknown, string][] = [
      [{ all: [{ type: 'xp_total', value: 1 }, { any: [{ type: 'xp_total', value: 0 }] }] }, 'input.criteria.all.1.any.0.value'],
      [{ all: [{ type: 'xp_total', value: 1 }, { any: [{ type: 'karma', value: 1 }] }] }, 'input.criteria.all.1.any.0.type'],
      [{ any: [{ type: 'streak_days', value: 2, days: 3 }] }, 'input.criteria.any.0'],
    ];
    for (const [criteria, field] of cases) {
      const res = await t.gql(UPSERT, { variables: { i: { id: 'bp-bad', name: 'Bad', criteria } }, token: admin });
      expect(res.errors?.[0]?.extensions, JSON.stringify(criteria)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(t.app.services.catalog.get().badge('bp-bad')).toBeUndefined();
  });
});
