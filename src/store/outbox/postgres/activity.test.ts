import { describe, expect, it } from 'vitest';
import { outboxEntrySchema, type OutboxEntry } from '../entry';
import { activityRowsOf } from './activity';
import { rowsOf } from './write';

// Pure: an entry's activity row, with the XP the ledger took for it.
const at = Date.parse('2025-03-10T23:59:59.500Z');
const ce = { i: 'e1', eat: at, x: 50, xat: at, cc: 1, ec: 0 };
const entry = (data: Record<string, unknown>): OutboxEntry => {
  const d = outboxEntrySchema.parse({ l: 'ana', e: '', oa: at, ra: at, v: 2, ep: 1, s: { xp: 55, lc: 1, xat: at }, ...data });
  return { stream: 's', partition: 0, id: '1-0', data: d, json: JSON.stringify(d) };
};

describe('activityRowsOf', () => {
  const completed = entry({ k: 'lesson_completed', id: '00000000-0000-4000-8000-000000000001', c: 'c', ls: 'c-l1', x: 50, ce, aw: [['first', 5, at]] });
  const opened = entry({ k: 'accessed', id: '00000000-0000-4000-8000-000000000002', c: 'c', ls: 'c-l2', ce });

  it("counts the event's own XP and its badges' as the ledger took them; null when nothing", () => {
    const rows = rowsOf([completed, opened]);
    const rowsOut = activityRowsOf([completed, opened], rows.ledger, new Set(rows.ledger.keys()));
    expect(rowsOut.map((r) => [r.kind, r.target, r.xp, r.day, r.course_id])).toEqual([
      ['LESSON_COMPLETED', 'c-l1', 55, '2025-03-10', 'c'],
      ['ACCESSED', 'c-l2', null, '2025-03-10', 'c'],
    ]);
  });

  it('shows no XP for a payment the ledger refused (paid already under another event)', () => {
    const rows = rowsOf([completed]);
    const onlyBadge = new Set([...rows.ledger.keys()].filter((id) => id.includes(':')));
    expect(activityRowsOf([completed], rows.ledger, onlyBadge)[0]!.xp).toBe(5);
    expect(activityRowsOf([completed], rows.ledger, new Set())[0]!.xp).toBeNull();
  });
});
