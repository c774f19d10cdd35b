import { describe, expect, it } from 'vitest';
import { candidatesFor, compileCriteria, minXpForLevel } from './compile';

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

  it('drops facts not tracked yet: all fails, any keeps the rest', () => {
    const streak = { type: 'streak_days' as const, value: 3 };
    const xp = { type: 'xp_total' as const, value: 10 };
    expect(compileCriteria({ all: [xp, streak] }, null)).toBe(false);
    expect(compileCriteria({ any: [xp, streak] }, null)).toEqual(['ge', 'xp', 10]);
    expect(compileCriteria({ any: [streak] }, null)).toBe(false);
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
