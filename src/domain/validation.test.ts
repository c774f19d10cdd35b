import { describe, expect, it } from 'vitest';
import { learnerId } from './auth/viewer';
import { quoted } from './errors';
import { eventId } from './events/types';
import { isWellFormed } from './validation';

describe('ids', () => {
  it('refuse lone surrogates, which storage would turn into the same U+FFFD', () => {
    expect(isWellFormed('😀 ok')).toBe(true);
    expect(isWellFormed('lone\ud800')).toBe(false);
    expect(isWellFormed('lone\udbff')).toBe(false);
    expect(isWellFormed('\udc00first')).toBe(false);
    expect(eventId.safeParse('lone\ud800').success).toBe(false);
    expect(learnerId.safeParse('amy\udfff').success).toBe(false);
    expect(learnerId.safeParse('amy😀').success).toBe(true);
  });

  it('are echoed short, with control characters escaped', () => {
    expect(quoted('a'.repeat(100))).toBe(`${'a'.repeat(60)}…`);
    expect(quoted('nul\u0000here')).toBe('nul\\u0000here');
  });
});
