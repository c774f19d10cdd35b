import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './service';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

describe('ledger and activity cursors', () => {
  it('round-trip what encodeCursor writes', () => {
    const c = { occurredAt: 1_795_393_241_801, id: '6f1e3c2a-0000-4000-8000-000000000001' };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(decodeCursor(encodeCursor({ occurredAt: 0, id: 'x' }))).toEqual({ occurredAt: 0, id: 'x' });
  });

  it('refuse forged times that Date or Postgres cannot hold, and other spellings of numbers', () => {
    for (const raw of ['8640000000000001:x', '9007199254740991:x', '-9007199254740991:x', '-1:x', '0x10:x', ' 1795:x', '1e3:x', '1.5:x', ':x', '12:', 'nocolon']) {
      expect(() => decodeCursor(b64(raw)), raw).toThrow(/not one this API handed out/);
    }
  });
});
