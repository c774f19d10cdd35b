/**
 * A read that misses Redis loads the learner from Postgres; when another request (here another
 * instance's store) hydrated first and applied a change Postgres has not received yet, the read
 * must answer what Redis holds, not the older Postgres snapshot it loaded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HydratingLearnerStore } from '../src/store/learners';
import type { LearnerRepository } from '../src/store/pg/learners';
import { LearnerHotStore } from '../src/store/redis/learners';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'race', modules: 1, lessons: 3, xpOf: () => 10 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

async function complete(learnerId: string, lessonId: string) {
  const res = await t.gql('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { totalXp } }', { variables: { l: learnerId, x: lessonId }, token: service });
  expect(res.errors).toBeUndefined();
}

describe('a read that loads a learner someone else hydrated meanwhile', () => {
  it('answers what Redis holds, including changes still on their way to Postgres', async () => {
    const id = 'racer';
    await t.gql('mutation($l: ID) { enroll(courseId: "race", learnerId: $l) { id } }', { variables: { l: id }, token: service });
    await complete(id, 'race-l1');
    await t.app.settle();
    // Redis forgets the learner (eviction); Postgres has 10 XP, one lesson.
    await t.app.redis.del(t.app.keys.learner(id));

    // A second store whose Postgres read is held until the other side has moved on.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let loaded!: () => void;
    const loadedSignal = new Promise<void>((r) => (loaded = r));
    const slowRepo = Object.create(t.app.learnerRepo) as LearnerRepository;
    slowRepo.load = async (learnerId: string) => {
      const state = await t.app.learnerRepo.load(learnerId);
      loaded();
      await held;
      return state;
    };
    const other = new HydratingLearnerStore(new LearnerHotStore(t.app.redis, t.app.keys, { eventRecordTtlMs: 60_000, boardPeriodGraceMs: 86_400_000 }), slowRepo, null);

    const counters = other.counters([id]);
    const enrollment = other.enrollment(id, 'race');
    await loadedSignal;
    // Meanwhile the app hydrates the learner itself and applies a completion the snapshot lacks.
    await complete(id, 'race-l2');
    release();

    expect((await counters)[0]).toMatchObject({ totalXp: 20, lessonsCompleted: 2 });
    expect(await enrollment).toMatchObject({ courseId: 'race', xpEarned: 20, lessonsCompleted: 2 });
  });
});
