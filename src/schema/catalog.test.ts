import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from '../../test/harness';

const env = newTestEnv();
let t: TestApp;
let admin: string;

const UPSERT_COURSE = 'mutation($i: CourseInput!) { upsertCourse(input: $i) { id title lessonCount quizCount totalXp modules { id position lessons { id courseId kind durationSeconds xpReward } quizzes { id passScore } } } }';
const UPSERT_BADGE = 'mutation($i: BadgeInput!) { upsertBadge(input: $i) { id name criteria xpReward } }';
const SET_LEVELS = 'mutation($l: [LevelInput!]!) { setLevels(levels: $l) { level name minXp } }';

beforeAll(async () => {
  t = await startTestApp(env);
  admin = await tokenFor('admin', ['admin']);
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('courses', () => {
  it('creates a course with derived totals and reads it back', async () => {
    const res = await t.gql(UPSERT_COURSE, { variables: { i: makeCourse({ id: 'cat', modules: 2, lessons: 2, xp: 25, quizzes: 1 }) }, token: admin });
    expect(res.errors).toBeUndefined();
    expect(res.data!.upsertCourse).toMatchObject({ id: 'cat', lessonCount: 4, quizCount: 2, totalXp: 4 * 25 + 2 * 40 });
    const read = await t.gql('{ courses { id } course(id: "cat") { modules { id position lessons { id kind } } } missing: course(id: "nope") { id } }');
    expect(read.data!.courses).toEqual([{ id: 'cat' }]);
    expect(read.data!.course.modules.map((m: { id: string; position: number }) => [m.id, m.position])).toEqual([
      ['cat-m1', 0],
      ['cat-m2', 1],
    ]);
    expect(read.data!.missing).toBeNull();
  });

  it('replaces a course: lessons no longer in the input are gone, new ones appear', async () => {
    const next = makeCourse({ id: 'cat', modules: 1, lessons: 3, xp: 10 });
    next.modules[0]!.lessons[2]!.id = 'cat-new';
    const res = await t.gql(UPSERT_COURSE, { variables: { i: next }, token: admin });
    expect(res.errors).toBeUndefined();
    expect(res.data!.upsertCourse).toMatchObject({ lessonCount: 3, quizCount: 0, totalXp: 30 });
    expect(res.data!.upsertCourse.modules[0].lessons.map((l: { id: string }) => l.id)).toEqual(['cat-l1', 'cat-l2', 'cat-new']);
    const knex = t.app.orm.em.getKnex();
    expect(await knex('lessons').where({ course_id: 'cat' }).count('* as n')).toEqual([{ n: '3' }]);
    expect(await knex('modules').where({ id: 'cat-m2' })).toEqual([]);
  });

  it('refuses invalid courses with the offending field named, changing nothing', async () => {
    const dup = makeCourse({ id: 'cat2', modules: 1, lessons: 2 });
    dup.modules[0]!.lessons[1]!.id = dup.modules[0]!.lessons[0]!.id;
    const r1 = await t.gql(UPSERT_COURSE, { variables: { i: dup }, token: admin });
    expect(r1.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.modules.0.lessons.1.id' });

    const negative = makeCourse({ id: 'cat2', modules: 1, lessons: 1 });
    negative.modules[0]!.lessons[0]!.xpReward = -5;
    const r2 = await t.gql(UPSERT_COURSE, { variables: { i: negative }, token: admin });
    expect(r2.errors![0]).toMatchObject({
      message: 'Invalid input.modules.0.lessons.0.xpReward: xpReward cannot be negative.',
      extensions: { code: 'BAD_USER_INPUT', field: 'input.modules.0.lessons.0.xpReward' },
    });

    // A lesson id that belongs to another course.
    const stolen = makeCourse({ id: 'cat2', modules: 1, lessons: 1 });
    stolen.modules[0]!.lessons[0]!.id = 'cat-l1';
    const r3 = await t.gql(UPSERT_COURSE, { variables: { i: stolen }, token: admin });
    expect(r3.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: 'The lesson id "cat-l1" already belongs to course "cat".' });

    const spaces = await t.gql(UPSERT_COURSE, { variables: { i: { ...makeCourse({ id: 'x' }), id: 'has space' } }, token: admin });
    expect(spaces.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });

    expect((await t.gql('{ course(id: "cat2") { id } }')).data!.course).toBeNull();
  });
});

describe('badges', () => {
  it('validates criteria with zod and lists valid badges', async () => {
    const ok = await t.gql(UPSERT_BADGE, {
      variables: { i: { id: 'b-any', name: 'Either', criteria: { any: [{ type: 'xp_total', value: 100 }, { type: 'lessons_completed', value: 2, course_id: 'cat' }] } } },
      token: admin,
    });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.upsertBadge).toEqual({ id: 'b-any', name: 'Either', xpReward: 0, criteria: { any: [{ type: 'xp_total', value: 100 }, { type: 'lessons_completed', value: 2, course_id: 'cat' }] } });

    for (const criteria of [{ type: 'karma', value: 3 }, { type: 'xp_total' }, { type: 'xp_total', value: 5, extra: true }, 'xp_total', { all: [] }]) {
      const bad = await t.gql(UPSERT_BADGE, { variables: { i: { id: 'b-bad', name: 'Bad', criteria } }, token: admin });
      expect(bad.errors?.[0]?.extensions?.code, JSON.stringify(criteria)).toBe('BAD_USER_INPUT');
      expect(bad.errors![0]!.extensions!.field).toMatch(/^input\.criteria/);
    }
    const listed = await t.gql('{ badges { id } }');
    expect(listed.data!.badges).toEqual([{ id: 'b-any' }]);
  });

  it('awards a badge as soon as its rule is met, once, paying its XP', async () => {
    await t.gql(UPSERT_BADGE, { variables: { i: { id: 'b-two', name: 'Two', criteria: { type: 'lessons_completed', value: 2, course_id: 'cat' }, xpReward: 15 } }, token: admin });
    const service = await tokenFor('svc', ['service']);
    await t.gql('mutation { enroll(courseId: "cat", learnerId: "cat-amy") { id } }', { token: service });
    const first = await t.gql('mutation { completeLesson(lessonId: "cat-l1", learnerId: "cat-amy") { badgesUnlocked { badge { id } } totalXp } }', { token: service });
    expect(first.data!.completeLesson).toEqual({ badgesUnlocked: [], totalXp: 10 });
    const second = await t.gql('mutation { completeLesson(lessonId: "cat-l2", learnerId: "cat-amy") { badgesUnlocked { badge { id } } totalXp } }', { token: service });
    // b-two pays 15, and b-any (2 lessons of cat) pays nothing.
    expect(second.data!.completeLesson.badgesUnlocked.map((b: { badge: { id: string } }) => b.badge.id).sort()).toEqual(['b-any', 'b-two']);
    expect(second.data!.completeLesson.totalXp).toBe(35);
    const third = await t.gql('mutation { completeLesson(lessonId: "cat-new", learnerId: "cat-amy") { badgesUnlocked { badge { id } } totalXp } }', { token: service });
    expect(third.data!.completeLesson).toEqual({ badgesUnlocked: [], totalXp: 45 });
    const me = await t.gql('{ me { badges { badge { id } } xpHistory { edges { node { reason sourceId amount } } } } }', { token: await tokenFor('cat-amy') });
    expect(me.data!.me.badges.map((b: { badge: { id: string } }) => b.badge.id).sort()).toEqual(['b-any', 'b-two']);
    expect(me.data!.me.xpHistory.edges.map((e: { node: unknown }) => e.node)).toContainEqual({ reason: 'badge_unlocked', sourceId: 'b-two', amount: 15 });
  });
});

describe('levels', () => {
  it('serves the default sqrt table, replaces it with a named table, and levels learners by it', async () => {
    const before = await t.gql('{ levels { level minXp } }');
    expect(before.data!.levels.slice(0, 3)).toEqual([
      { level: 0, minXp: 0 },
      { level: 1, minXp: 100 },
      { level: 2, minXp: 400 },
    ]);
    const table = [
      { level: 1, name: 'Novice', minXp: 0 },
      { level: 2, name: 'Apprentice', minXp: 40 },
      { level: 3, name: 'Adept', minXp: 100 },
    ];
    const set = await t.gql(SET_LEVELS, { variables: { l: table }, token: admin });
    expect(set.data!.setLevels).toEqual(table);
    expect((await t.gql('{ levels { level name minXp } }')).data!.levels).toEqual(table);
    const me = await t.gql('{ me { totalXp level { level name minXp nextLevelXp progress } } }', { token: await tokenFor('cat-amy') });
    expect(me.data!.me).toEqual({ totalXp: 45, level: { level: 2, name: 'Apprentice', minXp: 40, nextLevelXp: 100, progress: 5 / 60 } });

    const bad = await t.gql(SET_LEVELS, { variables: { l: [{ level: 1, minXp: 0 }, { level: 2, minXp: 0 }] }, token: admin });
    expect(bad.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'levels.1.minXp' });
    expect((await t.gql('{ levels { name } }')).data!.levels).toHaveLength(3);
  });
});

describe('query limits', () => {
  it('refuses queries nested past the depth limit before running them', async () => {
    // Today's schema has no cycles, so only a malformed query gets this deep; the limit keeps it
    // that way when one is added.
    let q = 'id';
    for (let i = 0; i < 20; i += 1) q = `modules { ${q} }`;
    const res = await t.gql(`{ course(id: "cat") { ${q} } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_DEEP');
    expect(res.errors?.[0]?.message).toBe('This query nests 22 levels deep; at most 12 are allowed.');
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: levels { level }`).join(' ');
    const res = await t.gql(`{ ${aliases} }`);
    expect(res.errors?.[0]).toMatchObject({ message: 'This query uses 40 aliases; at most 30 are allowed.', extensions: { code: 'TOO_MANY_ALIASES' } });
  });
});
