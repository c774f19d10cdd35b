import { describe, expect, it } from 'vitest';
import { badgeCriteria, meets, type BadgeFacts } from './criteria';

function facts(over: Partial<BadgeFacts> & { perCourse?: Record<string, number> } = {}): BadgeFacts {
  const { perCourse = {}, ...rest } = over;
  return {
    totalXp: 0,
    level: 0,
    lessonsCompleted: 0,
    lessonsCompletedIn: (id) => perCourse[id] ?? 0,
    ...rest,
  };
}

describe('badge criteria validation', () => {
  it('accepts every documented shape', () => {
    const shapes = [
      { type: 'xp_total', value: 1000 },
      { type: 'level_reached', value: 5 },
      { type: 'lessons_completed', value: 10, course_id: 'ts-101' },
      { type: 'videos_completed', value: 10 },
      { type: 'quiz_score', min_score: 90 },
      { type: 'quiz_score', min_score: 90, quiz_id: 'q1' },
      { type: 'quizzes_passed', value: 5 },
      { type: 'streak_days', value: 7 },
      { type: 'courses_completed', value: 1 },
      { type: 'watch_time_seconds', value: 36000 },
      { type: 'active_days', value: 30 },
      { type: 'goals_completed', value: 10 },
      { all: [{ type: 'xp_total', value: 1 }, { any: [{ type: 'level_reached', value: 2 }] }] },
    ];
    for (const s of shapes) expect(badgeCriteria.safeParse(s).success, JSON.stringify(s)).toBe(true);
  });

  it('refuses unknown types, missing values, extra keys and deep nesting', () => {
    expect(badgeCriteria.safeParse({ type: 'karma', value: 1 }).success).toBe(false);
    expect(badgeCriteria.safeParse({ type: 'xp_total' }).success).toBe(false);
    expect(badgeCriteria.safeParse({ type: 'xp_total', value: 10, vaule: 3 }).success).toBe(false);
    expect(badgeCriteria.safeParse({ type: 'xp_total', value: -1 }).success).toBe(false);
    expect(badgeCriteria.safeParse({ all: [] }).success).toBe(false);
    expect(badgeCriteria.safeParse('xp_total').success).toBe(false);
    const deep = { all: [{ all: [{ all: [{ all: [{ type: 'xp_total', value: 1 }] }] }] }] };
    expect(badgeCriteria.safeParse(deep).success).toBe(false);
  });
});

describe('meets', () => {
  it('checks XP, level and lesson counts, overall and per course', () => {
    const f = facts({ totalXp: 500, level: 2, lessonsCompleted: 3, perCourse: { a: 2, b: 1 } });
    expect(meets({ type: 'xp_total', value: 500 }, f)).toBe(true);
    expect(meets({ type: 'xp_total', value: 501 }, f)).toBe(false);
    expect(meets({ type: 'level_reached', value: 2 }, f)).toBe(true);
    expect(meets({ type: 'lessons_completed', value: 3 }, f)).toBe(true);
    expect(meets({ type: 'lessons_completed', value: 2, course_id: 'a' }, f)).toBe(true);
    expect(meets({ type: 'lessons_completed', value: 2, course_id: 'b' }, f)).toBe(false);
  });

  it('combines rules with all and any', () => {
    const f = facts({ totalXp: 100, level: 1 });
    expect(meets({ all: [{ type: 'xp_total', value: 100 }, { type: 'level_reached', value: 2 }] }, f)).toBe(false);
    expect(meets({ any: [{ type: 'xp_total', value: 100 }, { type: 'level_reached', value: 2 }] }, f)).toBe(true);
  });

  it('never passes a rule whose fact is not tracked yet', () => {
    expect(meets({ type: 'streak_days', value: 1 }, facts())).toBe(false);
    expect(meets({ type: 'streak_days', value: 1 }, facts({ streakDays: 1 }))).toBe(true);
  });
});
