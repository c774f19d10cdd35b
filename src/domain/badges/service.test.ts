import { describe, expect, it } from 'vitest';
import { Catalog, assembleCourse } from '../catalog/types';
import { emptyLearner, type EnrollmentState, type LearnerState } from '../learners/state';
import { badgesDue } from './service';

// A course with two lessons and a finite level table.
const course = assembleCourse({ id: 'c1', title: 'C1', description: null }, [
  {
    id: 'm1',
    courseId: 'c1',
    title: 'M1',
    position: 0,
    lessons: [
      { id: 'l1', courseId: 'c1', moduleId: 'm1', title: 'L1', kind: 'READING', durationSeconds: 60, xpReward: 50, position: 0 },
      { id: 'l2', courseId: 'c1', moduleId: 'm1', title: 'L2', kind: 'VIDEO', durationSeconds: 60, xpReward: 50, position: 1 },
    ],
    quizzes: [],
  },
]);

const badge = (id: string, criteria: object) => ({ id, name: id, description: null, imageUrl: null, criteria: criteria as never, xpReward: 0 });

const catalog = new Catalog(
  [course],
  [
    badge('first', { type: 'lessons_completed', value: 1 }),
    badge('c1-done', { type: 'lessons_completed', value: 2, course_id: 'c1' }),
    badge('xp100', { type: 'xp_total', value: 100 }),
    badge('lvl2', { type: 'level_reached', value: 2 }),
  ],
  [
    { level: 1, name: 'One', minXp: 0 },
    { level: 2, name: 'Two', minXp: 100 },
  ],
);

function learner(over: Partial<LearnerState> & { inC1?: number }): LearnerState {
  const { inC1, ...rest } = over;
  const enrollments = new Map<string, EnrollmentState>();
  if (inC1 !== undefined) {
    enrollments.set('c1', { id: 'e1', courseId: 'c1', enrolledAt: 0, xpEarned: 0, xpAt: null, lessonsCompleted: inC1, completedAt: null });
  }
  return { ...emptyLearner('amy'), enrollments, ...rest };
}

describe('badgesDue', () => {
  it('finds nothing for a newcomer', () => {
    expect(badgesDue(learner({}), catalog)).toEqual([]);
  });

  it('finds every badge whose rule is met and that is not held', () => {
    const s = learner({ totalXp: 100, lessonsCompleted: 2, inC1: 2, badges: new Map([['first', 1]]) });
    expect(badgesDue(s, catalog).map((b) => b.id)).toEqual(['c1-done', 'xp100', 'lvl2']);
  });

  it('counts per-course lessons only for lessons completed in that course', () => {
    const s = learner({ lessonsCompleted: 2, inC1: 1 });
    expect(badgesDue(s, catalog).map((b) => b.id)).toEqual(['first']);
  });
});
