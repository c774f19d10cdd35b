import { describe, expect, it } from 'vitest';
import { badgeCriteria, measure, meets, type BadgeFacts } from './criteria';
import { parseInput } from '../validation';

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

  /** The field a refusal names, as upsertBadge reports it in `extensions.field`. */
  function refusedAt(criteria: unknown): string {
    try {
      parseInput(badgeCriteria, criteria, 'input.criteria');
    } catch (err) {
      return (err as { field: string }).field;
    }
    throw new Error(`accepted ${JSON.stringify(criteria)}`);
  }

  it('names the failing path, however deep inside all/any the mistake is', () => {
    const wrap = (bad: unknown) => ({ all: [{ type: 'xp_total', value: 1 }, { any: [bad, { type: 'lessons_completed', value: 2 }] }] });
    expect(refusedAt(wrap({ type: 'xp_total', value: 0 }))).toBe('input.criteria.all.1.any.0.value');
    expect(refusedAt(wrap({ type: 'xp_total', value: 1.5 }))).toBe('input.criteria.all.1.any.0.value');
    expect(refusedAt(wrap({ type: 'xp_total' }))).toBe('input.criteria.all.1.any.0.value');
    expect(refusedAt(wrap({ type: 'karma', value: 1 }))).toBe('input.criteria.all.1.any.0.type');
    expect(refusedAt(wrap({ value: 1 }))).toBe('input.criteria.all.1.any.0.type');
    expect(refusedAt(wrap({ type: 'quiz_score', min_score: 101 }))).toBe('input.criteria.all.1.any.0.min_score');
    expect(refusedAt(wrap({ type: 'lessons_completed', value: 1, course_id: 'no spaces' }))).toBe('input.criteria.all.1.any.0.course_id');
    expect(refusedAt(wrap('xp_total'))).toBe('input.criteria.all.1.any.0');
    expect(refusedAt(wrap(null))).toBe('input.criteria.all.1.any.0');
    expect(refusedAt(wrap({ any: [] }))).toBe('input.criteria.all.1.any.0.any');
    expect(refusedAt(wrap({ all: {} }))).toBe('input.criteria.all.1.any.0.all');
    expect(refusedAt({ all: [{ type: 'xp_total', value: 1 }], any: [{ type: 'xp_total', value: 1 }] })).toBe('input.criteria');
    expect(refusedAt({ type: 'xp_total', value: 1.5 })).toBe('input.criteria.value');
  });

  it('says which types exist when the type is unknown', () => {
    const parsed = badgeCriteria.safeParse({ all: [{ type: 'karma', value: 1 }] });
    expect(parsed.error?.issues[0]?.message).toMatch(/^type must be one of xp_total, .*goals_completed\.$/);
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

  it('asks for an attempt at quiz_score min_score 0, as the compiled rule does', () => {
    const scores = (best: Record<string, number>) => facts({ bestQuizScore: (q) => (q === undefined ? (Object.values(best).length ? Math.max(...Object.values(best)) : null) : (best[q] ?? null)) });
    for (const c of [{ type: 'quiz_score' as const, min_score: 0 }, { type: 'quiz_score' as const, min_score: 0, quiz_id: 'q1' }]) {
      expect(meets(c, scores({})), JSON.stringify(c)).toBe(false);
      expect(measure(c, scores({}))).toEqual({ current: 0, target: 1 });
      // A score of 0 is an attempt all the same.
      expect(meets(c, scores({ q1: 0 })), JSON.stringify(c)).toBe(true);
    }
    expect(meets({ type: 'quiz_score', min_score: 0, quiz_id: 'q1' }, scores({ q2: 50 }))).toBe(false);
    expect(meets({ type: 'quiz_score', min_score: 50, quiz_id: 'q1' }, scores({ q1: 50 }))).toBe(true);
    expect(meets({ type: 'quiz_score', min_score: 51 }, scores({ q1: 50 }))).toBe(false);
  });

  it('never passes a rule whose fact is not tracked yet', () => {
    expect(meets({ type: 'streak_days', value: 1 }, facts())).toBe(false);
    expect(meets({ type: 'streak_days', value: 1 }, facts({ streakDays: 1 }))).toBe(true);
  });
});
