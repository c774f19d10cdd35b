import { describe, expect, it } from 'vitest';
import type { PeriodScores } from '../domain/learners/state';
import { periodBoardScores } from './repair';

const scores = (xp: number, course?: string): PeriodScores => ({ global: { xp, at: 1000 }, courses: new Map(course ? [[course, { xp, at: 1000 }]] : []) });

describe('periodBoardScores (a repaired learner on the period boards)', () => {
  it("sets the ledger's scores, and takes the learner off boards only the old hash had a score on", () => {
    // The old hash paid 2026-W48 twice (Redis behind Postgres) and had a course score the ledger refused.
    const before = new Map([['2026-W48', scores(80, 'ts')], ['2026-11-23', scores(40, 'ts')]]);
    const after = new Map([['2026-W48', scores(40)]]);
    expect(periodBoardScores(before, after)).toEqual(
      new Map([
        ['p:2026-W48:g', { xp: 40, at: 1000 }],
        ['p:2026-W48:c:ts', { xp: 0, at: 0 }],
        ['p:2026-11-23:g', { xp: 0, at: 0 }],
        ['p:2026-11-23:c:ts', { xp: 0, at: 0 }],
      ]),
    );
  });
});
