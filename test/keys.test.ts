/**
 * Learner ids that end in every suffix the key layout uses (and the old layout's), on 16
 * partitions: each learner's keys stay its own, so nobody's change half-applies or lands on
 * someone else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;

const base = 'kx';
const ids = [
  base,
  `${base}:outbox`,
  `${base}:deadletter`,
  `${base}:learner:${base}`,
  `${base}:event:2:${base}:e1`,
  `${base}:xp`,
  `${base}:u:${base}:xp`,
  'outbox',
  'deadletter',
  `{p3}:learner:${base}`,
  `${base}}`,
  `2:${base}`,
];

beforeAll(async () => {
  t = await startTestApp(env);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'kc', modules: 1, lessons: ids.length, xpOf: (i) => 10 + i }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('learner ids that look like key suffixes', () => {
  it('each keep their own state, outbox entries and event records', async () => {
    expect(t.app.keys.partitions).toBe(16);
    // Several of them share a partition (and so an outbox stream) with the base id.
    expect(ids.filter((id) => t.app.keys.partitionOf(id) === t.app.keys.partitionOf(base)).length).toBeGreaterThan(0);
    const service = await tokenFor('lms', ['service']);
    // Learner i completes lesson i (10 + i XP) with the event id "e1", the same for all.
    await Promise.all(
      ids.map(async (l, i) => {
        const enroll = await t.gql('mutation($l: ID) { enroll(courseId: "kc", learnerId: $l) { id } }', { variables: { l }, token: service });
        expect(enroll.errors, l).toBeUndefined();
        const done = await t.gql('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l, eventId: "e1") { xpAwarded totalXp } }', {
          variables: { l, x: `kc-l${i + 1}` },
          token: service,
        });
        expect(done.data?.completeLesson, l).toEqual({ xpAwarded: 10 + i, totalXp: 10 + i });
      }),
    );
    await t.app.settle();
    const knex = t.app.orm.em.getKnex();
    for (const [i, l] of ids.entries()) {
      const me = await t.gql('{ me { totalXp enrollments { course { id } progress { completedLessons } } rank { score } } }', { token: await tokenFor(l) });
      expect(me.data!.me, l).toEqual({ totalXp: 10 + i, enrollments: [{ course: { id: 'kc' }, progress: { completedLessons: 1 } }], rank: { score: 10 + i } });
      expect(await t.app.learnerRepo.ledgerTotal(l), l).toBe(10 + i);
      expect(await knex('learner_events').where({ learner_id: l }), l).toHaveLength(2);
    }
    // The shared event id "e1" was remembered per learner: every record is there, one each.
    for (const l of ids) expect(await t.app.redis.exists(t.app.keys.eventRecord(l, 'e1')), l).toBe(1);
  });
});
