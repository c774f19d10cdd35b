import { describe, expect, it } from 'vitest';
import { candidatesFor, compileCriteria, fieldsOf, minXpForLevel, type CompiledRule } from './compile';

/** The rule as lua/includes/awardBadges.lua judges it: an absent field reads 0. */
function holds(hash: Record<string, number>, rule: CompiledRule): boolean {
  if (rule[0] === 'ge') return (hash[rule[1]] ?? 0) >= rule[2];
  const parts = rule.slice(1) as CompiledRule[];
  return rule[0] === 'all' ? parts.every((p) => holds(hash, p)) : parts.some((p) => holds(hash, p));
}

const table = [
  { level: 1, name: 'Novice', minXp: 0 },
  { level: 2, name: 'Apprentice', minXp: 40 },
  { level: 4, name: 'Adept', minXp: 100 },
];

describe('compileCriteria', () => {
  it('turns counted facts into thresholds on hash counters', () => {
    expect(compileCriteria({ type: 'xp_total', value: 500 }, null)).toEqual(['ge', 'xp', 500]);
    expect(compileCriteria({ type: 'lessons_completed', value: 3 }, null)).toEqual(['ge', 'lc', 3]);
    expect(compileCriteria({ type: 'lessons_completed', value: 3, course_id: 'ts:101' }, null)).toEqual(['ge', 'cc:ts:101', 3]);
  });

  it('reads levels through the table in force', () => {
    // Default table: level 3 starts at 900 XP.
    expect(compileCriteria({ type: 'level_reached', value: 3 }, null)).toEqual(['ge', 'xp', 900]);
    // A finite table without level 3: reaching it means reaching level 4.
    expect(minXpForLevel(3, table)).toBe(100);
    expect(minXpForLevel(5, table)).toBeNull();
    expect(compileCriteria({ type: 'level_reached', value: 5 }, table)).toBe(false);
  });

  it('reads the progress counters: videos, watch time, quizzes passed, courses completed', () => {
    expect(compileCriteria({ type: 'videos_completed', value: 4 }, null)).toEqual(['ge', 'vc', 4]);
    expect(compileCriteria({ type: 'watch_time_seconds', value: 3600 }, null)).toEqual(['ge', 'wt', 3600]);
    expect(compileCriteria({ type: 'quizzes_passed', value: 2 }, null)).toEqual(['ge', 'qpc', 2]);
    expect(compileCriteria({ type: 'courses_completed', value: 3 }, null)).toEqual(['ge', 'crs', 3]);
    // ec:<course> holds the completion time (ms): set means completed.
    expect(compileCriteria({ type: 'courses_completed', value: 1, course_id: 'ts:101' }, null)).toEqual(['ge', 'ec:ts:101', 1]);
    // A course completes once: twice the same course never passes.
    expect(compileCriteria({ type: 'courses_completed', value: 2, course_id: 'ts:101' }, null)).toBe(false);
  });

  it('reads a best score, of one quiz (qb:) or of all (qbm)', () => {
    expect(compileCriteria({ type: 'quiz_score', min_score: 90, quiz_id: 'q1' }, null)).toEqual(['ge', 'qb:q1', 90]);
    expect(compileCriteria({ type: 'quiz_score', min_score: 90 }, null)).toEqual(['ge', 'qbm', 90]);
    expect(compileCriteria({ type: 'quiz_score', min_score: 1 }, null)).toEqual(['ge', 'qbm', 1]);
  });

  it('asks for an attempt at min_score 0, so an absent best score (0) does not pass before any', () => {
    const one = compileCriteria({ type: 'quiz_score', min_score: 0, quiz_id: 'q1' }, null);
    const all = compileCriteria({ type: 'quiz_score', min_score: 0 }, null);
    expect(one).toEqual(['ge', 'qn:q1', 1]);
    expect(all).toEqual(['ge', 'qt', 1]);
    // The hash of a learner who never attempted a quiz, read as the script reads it.
    const before = { xp: 500, lc: 3 };
    const after = { ...before, 'qn:q1': 1, 'qb:q1': 0, qt: 1, qbm: 0 };
    expect(holds(before, one as CompiledRule)).toBe(false);
    expect(holds(before, all as CompiledRule)).toBe(false);
    expect(holds(after, one as CompiledRule)).toBe(true);
    expect(holds(after, all as CompiledRule)).toBe(true);
    // Another quiz attempted is not this one.
    expect(holds({ ...before, 'qn:q2': 1, qt: 1 }, one as CompiledRule)).toBe(false);
  });

  it('nests the new kinds in all/any', () => {
    const rule = compileCriteria(
      {
        all: [
          { type: 'quizzes_passed', value: 3 },
          { any: [{ type: 'videos_completed', value: 5 }, { type: 'watch_time_seconds', value: 7200 }, { type: 'streak_days', value: 7 }] },
          { type: 'quiz_score', min_score: 0, quiz_id: 'final' },
          { any: [{ type: 'courses_completed', value: 1, course_id: 'c' }, { type: 'courses_completed', value: 2 }] },
        ],
      },
      null,
    );
    expect(rule).toEqual([
      'all',
      ['ge', 'qpc', 3],
      ['any', ['ge', 'vc', 5], ['ge', 'wt', 7200], ['ge', 'sk', 7]],
      ['ge', 'qn:final', 1],
      ['any', ['ge', 'ec:c', 1], ['ge', 'crs', 2]],
    ]);
    const r = rule as CompiledRule;
    expect(fieldsOf(r)).toEqual(new Set(['qpc', 'vc', 'wt', 'sk', 'qn:final', 'ec:c', 'crs']));
    const met = { qpc: 3, wt: 7200, 'qn:final': 2, 'ec:c': Date.UTC(2026, 10, 22) };
    expect(holds(met, r)).toBe(true);
    expect(holds({ ...met, qpc: 2 }, r)).toBe(false);
    expect(holds({ ...met, wt: 7199 }, r)).toBe(false);
    expect(holds({ ...met, wt: 0, vc: 5 }, r)).toBe(true);
    expect(holds({ ...met, wt: 0, sk: 7 }, r)).toBe(true);
    expect(holds({ ...met, 'qn:final': 0 }, r)).toBe(false);
    expect(holds({ ...met, 'ec:c': 0 }, r)).toBe(false);
    expect(holds({ ...met, 'ec:c': 0, crs: 2 }, r)).toBe(true);
  });

  it('reads active days from ad', () => {
    expect(compileCriteria({ type: 'active_days', value: 30 }, null)).toEqual(['ge', 'ad', 30]);
  });

  it('reads the current streak from sk and goals completed from gc', () => {
    expect(compileCriteria({ type: 'streak_days', value: 7 }, null)).toEqual(['ge', 'sk', 7]);
    expect(compileCriteria({ type: 'goals_completed', value: 10 }, null)).toEqual(['ge', 'gc', 10]);
    const r = compileCriteria({ all: [{ type: 'streak_days', value: 7 }, { type: 'goals_completed', value: 2 }] }, null) as CompiledRule;
    expect(holds({ sk: 7, gc: 2 }, r)).toBe(true);
    expect(holds({ sk: 6, gc: 2 }, r)).toBe(false);
    // Before the scripts keep them, the fields are absent and read 0: never passes.
    expect(holds({ ad: 30, xp: 5000 }, r)).toBe(false);
  });

  it('drops what can never pass: all fails, any keeps the rest', () => {
    const never = { type: 'courses_completed' as const, value: 2, course_id: 'c' };
    const unreachable = { type: 'level_reached' as const, value: 5 };
    const xp = { type: 'xp_total' as const, value: 10 };
    expect(compileCriteria({ all: [xp, never] }, null)).toBe(false);
    expect(compileCriteria({ any: [xp, never] }, null)).toEqual(['ge', 'xp', 10]);
    expect(compileCriteria({ any: [never] }, null)).toBe(false);
    expect(compileCriteria({ any: [unreachable, xp] }, table)).toEqual(['ge', 'xp', 10]);
    expect(compileCriteria({ all: [xp, unreachable] }, table)).toBe(false);
    expect(compileCriteria({ all: [xp, { any: [{ type: 'lessons_completed', value: 2 }, { type: 'xp_total', value: 50 }] }] }, null)).toEqual([
      'all',
      ['ge', 'xp', 10],
      ['any', ['ge', 'lc', 2], ['ge', 'xp', 50]],
    ]);
  });
});

describe('candidatesFor', () => {
  const badges = [
    { id: 'xp100', xpReward: 5, criteria: { type: 'xp_total' as const, value: 100 } },
    { id: 'c2', xpReward: 0, criteria: { type: 'lessons_completed' as const, value: 2, course_id: 'c' } },
    { id: 'd2', xpReward: 0, criteria: { type: 'lessons_completed' as const, value: 2, course_id: 'd' } },
    { id: 'streak', xpReward: 0, criteria: { type: 'streak_days' as const, value: 7 } },
  ];

  it('picks only badges whose rule reads something the event changes, with the fields to read', () => {
    const c = candidatesFor(badges, null, new Set(['xp', 'lc', 'cc:c']));
    expect(c.ids).toEqual(['xp100', 'c2']);
    expect(JSON.parse(c.json)).toEqual([
      ['xp100', 5, ['ge', 'xp', 100]],
      ['c2', 0, ['ge', 'cc:c', 2]],
    ]);
    expect(new Set(c.fields)).toEqual(new Set(['b:xp100', 'xp', 'b:c2', 'cc:c']));
  });

  it('has nothing for an event that changes no counter a badge reads', () => {
    expect(candidatesFor(badges, null, new Set(['cs'])).ids).toEqual([]);
  });
});
