import { describe, expect, it } from 'vitest';
import { assembleCourse, Catalog, type Module } from '../catalog/types';
import type { EnrollmentState, StatCounters } from '../learners/state';
import { calendarOf, describeActivity, statsOf, type ActivityRecord } from './service';

const mod: Module = {
  id: 'c-m1',
  courseId: 'c',
  title: 'M1',
  position: 0,
  lessons: [
    { id: 'c-l1', courseId: 'c', moduleId: 'c-m1', title: 'Intro', kind: 'VIDEO', durationSeconds: 300, xpReward: 10, position: 0 },
    { id: 'c-l2', courseId: 'c', moduleId: 'c-m1', title: 'Types', kind: 'READING', durationSeconds: null, xpReward: 10, position: 1 },
  ],
  quizzes: [{ id: 'c-q1', courseId: 'c', moduleId: 'c-m1', title: 'Check', passScore: 70, xpReward: 20, position: 0 }],
};
const catalog = new Catalog([assembleCourse({ id: 'c', title: 'TypeScript', description: null }, [mod])], [], null);
const at = Date.parse('2026-03-10T09:00:00Z');

const enrollment = (over: Partial<EnrollmentState>): EnrollmentState => ({
  id: 'e',
  courseId: 'c',
  enrolledAt: at,
  xpEarned: 0,
  xpAt: null,
  lessonsCompleted: 0,
  quizzesPassed: 0,
  watchSeconds: 0,
  completedAt: null,
  certificateCode: null,
  ...over,
});
const counters: StatCounters = { version: 9, lessonsCompleted: 3, videosCompleted: 1, watchSeconds: 400, quizzesTaken: 3, quizzesPassed: 1, bestScoreSum: 150, bestScoreCount: 2 };
const totals = { version: 9, activeDays: 2, sessions: 3, seconds: 900 };

describe('calendarOf', () => {
  it('zero-fills every day of the range, across a month end and a leap day', () => {
    const days = calendarOf('2024-02-28', '2024-03-01', new Map([['2024-02-29', { xp: 5, events: 2, seconds: 120 }]]));
    expect(days).toEqual([
      { date: '2024-02-28', xp: 0, events: 0, timeSpentSeconds: 0 },
      { date: '2024-02-29', xp: 5, events: 2, timeSpentSeconds: 120 },
      { date: '2024-03-01', xp: 0, events: 0, timeSpentSeconds: 0 },
    ]);
  });

  it('takes one day and 366 days, and refuses a reversed range or 367 days', () => {
    expect(calendarOf('2025-01-01', '2025-01-01', new Map())).toHaveLength(1);
    expect(calendarOf('2025-01-01', '2026-01-01', new Map())).toHaveLength(366);
    expect(() => calendarOf('2025-01-01', '2026-01-02', new Map())).toThrow(/at most 366/);
    expect(() => calendarOf('2025-01-02', '2025-01-01', new Map())).toThrow(/after/);
  });
});

describe('statsOf', () => {
  it('reads counters, enrollments and totals; the completion rate is the mean over enrollments', () => {
    const stats = statsOf(
      counters,
      [
        // 2 of 2 lessons, 1 of 1 quiz: 1.
        enrollment({ lessonsCompleted: 2, quizzesPassed: 1, completedAt: at }),
        // A course gone from the catalog: 0 until completed.
        enrollment({ id: 'g', courseId: 'gone', lessonsCompleted: 4 }),
      ],
      totals,
      catalog,
    );
    expect(stats).toEqual({
      totalWatchTimeSeconds: 400,
      videosCompleted: 1,
      lessonsCompleted: 3,
      quizzesTaken: 3,
      quizzesPassed: 1,
      averageQuizScore: 75,
      activeDays: 2,
      sessions: 3,
      totalTimeSeconds: 900,
      coursesEnrolled: 2,
      coursesCompleted: 1,
      completionRate: 0.5,
    });
  });

  it('answers null for the average before any attempt, and 0 for the rate with no enrollment', () => {
    const none = statsOf({ ...counters, bestScoreSum: 0, bestScoreCount: 0 }, [], totals, catalog);
    expect(none.averageQuizScore).toBeNull();
    expect(none.completionRate).toBe(0);
  });
});

describe('describeActivity', () => {
  const a = (over: Partial<ActivityRecord>): ActivityRecord => ({ id: 'k', type: 'ACCESSED', target: 'c-l1', courseId: 'c', value: null, xp: null, occurredAt: at, ...over });
  it('says what happened with the catalog titles, or the id once the catalog lost it', () => {
    expect(describeActivity(a({ type: 'LESSON_COMPLETED' }), catalog)).toBe('Completed lesson \u201cIntro\u201d');
    expect(describeActivity(a({ type: 'QUIZ_ATTEMPTED', target: 'c-q1', value: 80 }), catalog)).toBe('Scored 80 on quiz \u201cCheck\u201d');
    expect(describeActivity(a({ type: 'WATCHED', value: 120 }), catalog)).toBe('Watched 120 s of \u201cIntro\u201d');
    expect(describeActivity(a({ type: 'ENROLLED', target: 'c' }), catalog)).toBe('Enrolled in \u201cTypeScript\u201d');
    expect(describeActivity(a({ type: 'ACCESSED', target: 'c-l2' }), catalog)).toBe('Opened lesson \u201cTypes\u201d');
    expect(describeActivity(a({ type: 'LESSON_COMPLETED', target: 'old-lesson' }), catalog)).toBe('Completed lesson \u201cold-lesson\u201d');
  });
});
