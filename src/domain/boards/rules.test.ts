import { describe, expect, it } from 'vitest';
import { boardIdOf, boardMember, boardRefOf, comparePositions, learnerOfMember } from './rules';

describe('board ids', () => {
  it('round-trip the global and course boards', () => {
    expect(boardIdOf({ period: 'ALL_TIME', courseId: null })).toBe('g:all');
    expect(boardIdOf({ period: 'ALL_TIME', courseId: 'ts:101' })).toBe('c:ts:101:all');
    expect(boardRefOf('c:ts:101:all')).toEqual({ period: 'ALL_TIME', courseId: 'ts:101' });
    expect(boardRefOf('g:all')).toEqual({ period: 'ALL_TIME', courseId: null });
  });
});

describe('board order', () => {
  // 2026-11-22T10:00:00Z and one second later
  const early = 1_795_346_400_000;
  const late = early + 1000;

  it('ranks the higher score first', () => {
    const a = { score: 200, member: boardMember('zed', late) };
    const b = { score: 100, member: boardMember('amy', early) };
    expect(comparePositions(a, b)).toBeLessThan(0);
  });

  it('ranks whoever reached an equal score first higher, whatever their id', () => {
    const a = { score: 100, member: boardMember('zed', early) };
    const b = { score: 100, member: boardMember('amy', late) };
    expect(comparePositions(a, b)).toBeLessThan(0);
    expect(comparePositions(b, a)).toBeGreaterThan(0);
  });

  it('keeps the learner id recoverable, even with | in it', () => {
    expect(learnerOfMember(boardMember('a|b@example.com', early))).toBe('a|b@example.com');
  });
});
