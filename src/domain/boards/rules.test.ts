import { describe, expect, it } from 'vitest';
import { boardIdOf, boardInfo, boardMember, boardRefOf, comparePositions, learnerOfMember } from './rules';

describe('board ids', () => {
  it('round-trip the global and course boards', () => {
    expect(boardIdOf({ period: 'ALL_TIME', courseId: null })).toBe('g:all');
    expect(boardIdOf({ period: 'ALL_TIME', courseId: 'ts:101' })).toBe('c:ts:101:all');
    expect(boardRefOf('c:ts:101:all')).toEqual({ period: 'ALL_TIME', courseId: 'ts:101' });
    expect(boardRefOf('g:all')).toEqual({ period: 'ALL_TIME', courseId: null });
  });

  it('round-trip period boards, whose ids no course id can fake', () => {
    for (const ref of [
      { period: 'WEEKLY', courseId: null, periodKey: '2026-W47' },
      { period: 'DAILY', courseId: 'ts:101', periodKey: '2026-11-22' },
      { period: 'MONTHLY', courseId: 'x:all', periodKey: '2026-11' },
    ] as const) {
      expect(boardRefOf(boardIdOf(ref))).toEqual(ref);
    }
    expect(boardIdOf({ period: 'WEEKLY', courseId: 'ts', periodKey: '2026-W47' })).toBe('p:2026-W47:c:ts');
    // A course whose id looks like a period board's tail keeps an ALL_TIME id.
    expect(boardRefOf(boardIdOf({ period: 'ALL_TIME', courseId: 'p:2026-W47' }))).toEqual({ period: 'ALL_TIME', courseId: 'p:2026-W47' });
    expect(() => boardIdOf({ period: 'DAILY', courseId: null })).toThrow();
  });

  it('describe a period board with its key and end', () => {
    // 2026-W47 ends Monday 2026-11-23 00:00 UTC
    expect(boardInfo({ period: 'WEEKLY', courseId: null, periodKey: '2026-W47' })).toEqual({ period: 'WEEKLY', courseId: null, periodKey: '2026-W47', endsAt: Date.parse('2026-11-23T00:00:00Z') });
    expect(boardInfo({ period: 'ALL_TIME', courseId: 'c' })).toEqual({ period: 'ALL_TIME', courseId: 'c', periodKey: null, endsAt: null });
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
