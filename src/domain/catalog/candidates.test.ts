import { describe, expect, it } from 'vitest';
import type { BadgeCriteria } from '../badges/criteria';
import { assembleCourse, Catalog, type Badge } from './types';

const badge = (id: string, criteria: BadgeCriteria): Badge => ({ id, name: id, description: null, imageUrl: null, criteria, xpReward: 0 });

describe('badge candidates of streaks and goals', () => {
  const course = assembleCourse({ id: 'c', title: 'C', description: null }, [
    {
      id: 'c-m1',
      courseId: 'c',
      title: 'M1',
      position: 0,
      lessons: [{ id: 'c-l1', courseId: 'c', moduleId: 'c-m1', title: 'L1', kind: 'VIDEO', durationSeconds: 60, xpReward: 10, position: 0 }],
      quizzes: [{ id: 'c-q1', courseId: 'c', moduleId: 'c-m1', title: 'Q1', passScore: 70, xpReward: 20, position: 1 }],
    },
  ]);
  const cat = new Catalog(
    [course],
    [
      badge('streak', { type: 'streak_days', value: 7 }),
      badge('goals', { type: 'goals_completed', value: 3 }),
      badge('both', { all: [{ type: 'streak_days', value: 3 }, { any: [{ type: 'goals_completed', value: 1 }, { type: 'videos_completed', value: 9 }] }] }),
      badge('watch', { type: 'watch_time_seconds', value: 60 }),
    ],
    null,
  );

  // Any event can bring a new day (moving the streak) and count towards the day's goal.
  it('are candidates of every event kind, wherever active days are', () => {
    for (const [name, c] of [
      ['lesson', cat.lessonCandidates('c')],
      ['watch', cat.watchCandidates('c')],
      ['quiz', cat.quizCandidates('c-q1')],
      ['day', cat.dayCandidates()],
    ] as const) {
      expect(c.ids.filter((id) => id !== 'watch'), name).toEqual(['streak', 'goals', 'both']);
      for (const f of ['b:streak', 'b:goals', 'b:both', 'sk', 'gc']) expect(c.fields, `${name} ${f}`).toContain(f);
    }
    expect(cat.watchCandidates('c').ids).toContain('watch');
    expect(cat.lessonCandidates('c').ids).not.toContain('watch');
  });

  it('hand the scripts the compiled rules on sk and gc', () => {
    expect(JSON.parse(cat.dayCandidates().json)).toEqual([
      ['streak', 0, ['ge', 'sk', 7]],
      ['goals', 0, ['ge', 'gc', 3]],
      ['both', 0, ['all', ['ge', 'sk', 3], ['any', ['ge', 'gc', 1], ['ge', 'vc', 9]]]],
    ]);
  });
});
