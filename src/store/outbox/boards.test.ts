import { describe, expect, it } from 'vitest';
import { boardUpdatesOf } from './boards';
import { outboxEntrySchema, periodFlagsOf, type OutboxEntry } from './entry';

// 2026-11-22T10:00:00Z, a Sunday in 2026-W47
const at = 1_795_346_400_000;

const entry = (v: number, extra: Record<string, unknown>): OutboxEntry => {
  const data = outboxEntrySchema.parse({
    k: 'lesson_completed', l: 'amy', e: '', id: `00000000-0000-4000-8000-00000000000${v}`, oa: at, ra: at, v, ep: 3,
    s: { xp: 10 * v, lc: v, xat: at }, c: 'ts', ls: `ts-${v}`, x: 10,
    ce: { i: 'e1', eat: at, x: 10 * v, xat: at, cc: v, ec: 0 },
    ...extra,
  });
  return { stream: 's', partition: 0, id: `${v}-0`, data, json: '' };
};

describe('boardUpdatesOf', () => {
  it("sets the learner's absolute period scores the entry carries, globally and in its course, newest version first", () => {
    const p = (xp: number) => ({ k: ['2026-11-22', '2026-W47', '2026-11'], g: [[xp, at], [xp, at], [xp + 5, at]], c: [[xp, at], [xp, at], [xp, at]] });
    const updates = boardUpdatesOf([entry(2, { p: p(20) }), entry(1, { p: p(10) })]);
    expect([...updates.keys()].sort()).toEqual(['c:ts:all', 'g:all', 'p:2026-11-22:c:ts', 'p:2026-11-22:g', 'p:2026-11:c:ts', 'p:2026-11:g', 'p:2026-W47:c:ts', 'p:2026-W47:g']);
    expect(updates.get('p:2026-W47:g')).toEqual([{ learnerId: 'amy', score: 20, reachedAt: at, epoch: 3, version: 2 }]);
    expect(updates.get('p:2026-11:g')).toEqual([{ learnerId: 'amy', score: 25, reachedAt: at, epoch: 3, version: 2 }]);
  });

  it('touches no period board for XP that counted in none, and no course period board for badge XP only', () => {
    expect([...boardUpdatesOf([entry(1, {})]).keys()].sort()).toEqual(['c:ts:all', 'g:all']);
    const badgeOnly = entry(1, { x: 0, aw: [['b1', 5, at]], p: { k: ['2026-11'], g: [[5, at]] } });
    expect([...boardUpdatesOf([badgeOnly]).keys()].sort()).toEqual(['g:all', 'p:2026-11:g']);
  });

  it('refuses an entry whose period scores do not line up, and flags ledger rows by the periods they counted in', () => {
    expect(outboxEntrySchema.safeParse({ ...entry(1, {}).data, p: { k: ['2026-11'], g: [] } }).success).toBe(false);
    expect(outboxEntrySchema.safeParse({ ...entry(1, {}).data, p: { k: ['2026-W99'], g: [[1, at]] } }).success).toBe(false);
    expect(periodFlagsOf({ p: { k: ['2026-11-22', '2026-11'], g: [] } })).toBe(1 | 4);
    expect(periodFlagsOf({})).toBe(0);
  });
});
