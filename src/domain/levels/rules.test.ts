import { describe, expect, it } from 'vitest';
import { defaultLevelOf, levelOf, levelRows, levelTableInput } from './rules';

describe('default level table: floor(sqrt(xp / 100))', () => {
  it.each([
    [0, 0],
    [99, 0],
    [100, 1],
    [399, 1],
    [400, 2],
    [899, 2],
    [900, 3],
    [1600, 4],
    [2_500_000_000, 5000],
    [2_499_999_999, 4999],
  ])('%i XP is level %i', (xp, level) => {
    expect(defaultLevelOf(xp)).toBe(level);
  });

  it('reports the bounds of the current level and the share of the way to the next', () => {
    expect(levelOf(250, null)).toEqual({ level: 1, name: null, minXp: 100, nextLevelXp: 400, progress: 0.5 });
    expect(levelOf(0, null)).toMatchObject({ level: 0, minXp: 0, nextLevelXp: 100, progress: 0 });
  });

  it('lists the first rows of the unbounded table', () => {
    const rows = levelRows(null);
    expect(rows.slice(0, 4)).toEqual([
      { level: 0, name: null, minXp: 0 },
      { level: 1, name: null, minXp: 100 },
      { level: 2, name: null, minXp: 400 },
      { level: 3, name: null, minXp: 900 },
    ]);
  });
});

describe('a finite level table', () => {
  const table = levelTableInput.parse([
    { level: 1, name: 'Novice', minXp: 0 },
    { level: 2, name: 'Apprentice', minXp: 50 },
    { level: 3, name: 'Master', minXp: 200 },
  ]);

  it('gives the highest level whose minXp is reached', () => {
    expect(levelOf(0, table)).toMatchObject({ level: 1, name: 'Novice', nextLevelXp: 50, progress: 0 });
    expect(levelOf(49, table)).toMatchObject({ level: 1 });
    expect(levelOf(50, table)).toMatchObject({ level: 2, name: 'Apprentice', minXp: 50, nextLevelXp: 200 });
    expect(levelOf(125, table).progress).toBe(0.5);
  });

  it('has no next level at the top', () => {
    expect(levelOf(10_000, table)).toEqual({ level: 3, name: 'Master', minXp: 200, nextLevelXp: null, progress: 1 });
  });

  it('refuses tables that do not start at 0 or do not increase', () => {
    expect(levelTableInput.safeParse([{ level: 1, minXp: 10 }]).success).toBe(false);
    const flat = levelTableInput.safeParse([
      { level: 1, minXp: 0 },
      { level: 2, minXp: 0 },
    ]);
    expect(flat.success).toBe(false);
    expect(flat.error?.issues[0]?.path).toEqual([1, 'minXp']);
    expect(levelTableInput.safeParse([]).success).toBe(false);
    expect(
      levelTableInput.safeParse([
        { level: 2, minXp: 0 },
        { level: 1, minXp: 10 },
      ]).success,
    ).toBe(false);
  });
});
