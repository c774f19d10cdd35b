import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CourseInput } from '../src/domain/catalog/input';
import { destroyTestEnv, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// me.topicMastery for a scripted learner, every figure computed by hand below.
const env = newTestEnv();
let t: TestApp;
let service: string;
let amy: string;

const lesson = (id: string) => ({ id, title: id, kind: 'READING' as const, durationSeconds: 300, xpReward: 10 });
const quiz = (id: string) => ({ id, title: id, passScore: 70, xpReward: 20 });
const COURSE: CourseInput = {
  id: 'ms',
  title: 'Mastery',
  description: null,
  modules: [
    { id: 'ms-m1', title: 'Lessons and quizzes', lessons: [lesson('ms-l1'), lesson('ms-l2')], quizzes: [quiz('ms-q1'), quiz('ms-q2')] },
    { id: 'ms-m2', title: 'Lessons only', lessons: [lesson('ms-l3'), lesson('ms-l4')], quizzes: [] },
    { id: 'ms-m3', title: 'Quiz only', lessons: [], quizzes: [quiz('ms-q3')] },
  ],
};
const OTHER: CourseInput = { id: 'ms2', title: 'Other', description: null, modules: [{ id: 'ms2-m1', title: 'Other module', lessons: [lesson('ms2-l1')], quizzes: [] }] };

const MASTERY = 'query($c: ID) { me { topicMastery(courseId: $c) { moduleId title lessonCompletionRate averageQuizScore mastery } } }';

async function act(query: string, variables: Record<string, unknown>) {
  const res = await t.gql(query, { variables: { l: 'ms-amy', ...variables }, token: service });
  expect(res.errors).toBeUndefined();
}

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  amy = await tokenFor('ms-amy');
  await t.app.services.catalog.upsertCourse(COURSE);
  await t.app.services.catalog.upsertCourse(OTHER);
  await act('mutation($l: ID) { enroll(courseId: "ms", learnerId: $l) { id } }', {});
  await act('mutation($l: ID) { enroll(courseId: "ms2", learnerId: $l) { id } }', {});
  for (const l of ['ms-l1', 'ms-l3', 'ms-l4']) await act('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { xpAwarded } }', { x: l });
  for (const [q, s] of [['ms-q1', 40], ['ms-q1', 80], ['ms-q3', 95]] as const) {
    await act('mutation($l: ID, $q: ID!, $s: Int!) { submitQuizAttempt(quizId: $q, score: $s, learnerId: $l) { xpAwarded } }', { q, s });
  }
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

// Module 1: lessons 1 of 2 = 0.5; q1 best 80 (40 then 80), q2 never tried: average of the
//   attempted = 80; quiz part (80 + 0) / 200 = 0.4; mastery 0.5 x 0.5 + 0.5 x 0.4 = 0.45.
// Module 2: lessons 2 of 2 = 1; no quiz: average null, mastery = lessons = 1.
// Module 3: no lessons (rate 0); q3 best 95: average 95, mastery = quiz part alone = 0.95.
const MS = [
  { moduleId: 'ms-m1', title: 'Lessons and quizzes', lessonCompletionRate: 0.5, averageQuizScore: 80, mastery: 0.45 },
  { moduleId: 'ms-m2', title: 'Lessons only', lessonCompletionRate: 1, averageQuizScore: null, mastery: 1 },
  { moduleId: 'ms-m3', title: 'Quiz only', lessonCompletionRate: 0, averageQuizScore: 95, mastery: 0.95 },
];
const MS2 = [{ moduleId: 'ms2-m1', title: 'Other module', lessonCompletionRate: 0, averageQuizScore: null, mastery: 0 }];

describe('me.topicMastery', () => {
  it('per module of one course, computed by hand', async () => {
    const res = await t.gql(MASTERY, { variables: { c: 'ms' }, token: amy });
    expect(res.errors).toBeUndefined();
    expect(res.data!.me.topicMastery).toEqual(MS);
  });

  it('without courseId: every enrolled course, in enrollment order', async () => {
    const res = await t.gql(MASTERY, { variables: {}, token: amy });
    expect(res.data!.me.topicMastery).toEqual([...MS, ...MS2]);
  });

  it('a course not enrolled in reads as nothing done; an unknown one is NOT_FOUND; a bad id BAD_USER_INPUT', async () => {
    const bo = await tokenFor('ms-bo');
    expect((await t.gql(MASTERY, { variables: { c: 'ms2' }, token: bo })).data!.me.topicMastery).toEqual(MS2);
    const unknown = await t.gql(MASTERY, { variables: { c: 'nope' }, token: amy });
    expect(unknown.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const bad = await t.gql(MASTERY, { variables: { c: 'no pe\u0000' }, token: amy });
    expect(bad.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'courseId' });
  });

  it('the same after Redis lost the learner (loaded again from Postgres)', async () => {
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner('ms-amy'));
    const res = await t.gql(MASTERY, { variables: {}, token: amy });
    expect(res.data!.me.topicMastery).toEqual([...MS, ...MS2]);
  });
});
