import { describe, expect, it } from 'vitest';
import { concludeUnsettled, exitCodeOf, type VerifyReport } from './verify';

const report = (over: Partial<VerifyReport> = {}): VerifyReport => ({ learners: 2, boards: 1, boardEntries: 1, drift: [], unsettled: [], repaired: [], driftAfterRepair: [], ...over });

describe('verify: learners Redis holds ahead of Postgres', () => {
  it('are drift once nothing is left to write, and with --repair drift left: never exit 0 over them', () => {
    const r = report({ unsettled: ['amy'] });
    concludeUnsettled(r, true, true);
    expect(r.unsettled).toEqual([]);
    expect(r.drift.map((d) => d.learnerId)).toEqual(['amy']);
    expect(r.driftAfterRepair.map((d) => d.learnerId)).toEqual(['amy']);
    expect(exitCodeOf(r, true)).toBe(1);

    const plain = report({ unsettled: ['amy'] });
    concludeUnsettled(plain, true, false);
    expect(plain.driftAfterRepair).toEqual([]);
    expect(exitCodeOf(plain, false)).toBe(1);
  });

  it('are not drift while the outbox still holds writes for Postgres', () => {
    const r = report({ unsettled: ['amy'] });
    concludeUnsettled(r, false, true);
    expect(r.unsettled).toEqual(['amy']);
    expect(r.drift).toEqual([]);
    expect(exitCodeOf(r, true)).toBe(0);
  });

  it('repaired drift exits 0, drift left exits 1', () => {
    const d = { learnerId: 'bo', what: 'x' };
    expect(exitCodeOf(report({ drift: [d], repaired: ['bo'] }), true)).toBe(0);
    expect(exitCodeOf(report({ drift: [d], repaired: ['bo'], driftAfterRepair: [d] }), true)).toBe(1);
    expect(exitCodeOf(report({ drift: [d] }), false)).toBe(1);
  });
});
