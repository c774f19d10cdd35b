import { describe, expect, it } from 'vitest';
import { decodeDays, encodeDays, hasDay } from './dayBitmap';

describe('day bitmap (lua/includes/activeDay.lua)', () => {
  it('encodes nothing as null', () => {
    expect(encodeDays([])).toBeNull();
  });

  it('bases at the first day, most significant bit first', () => {
    const m = encodeDays([20_010, 20_000, 20_001, 20_000])!;
    expect(m.d0).toBe(20_000);
    // bits 0, 1 and 10: byte 0 = 1100 0000, byte 1 = 0010 0000
    expect([...m.bits]).toEqual([0xc0, 0x20]);
  });

  it('round-trips any set of days, across byte boundaries and zero bytes', () => {
    const days = [19_000, 19_007, 19_008, 19_015, 19_016, 19_100, 19_101, 20_000];
    const m = encodeDays([...days].reverse())!;
    expect(m.bits.length).toBe(Math.floor((20_000 - 19_000) / 8) + 1);
    expect(decodeDays(m.d0, m.bits)).toEqual(days);
    for (let d = 18_990; d <= 20_010; d += 1) expect(hasDay(m.d0, m.bits, d)).toBe(days.includes(d));
  });

  it('reads a bitmap with trailing zero bytes or a base before the first day (as the scripts grow it)', () => {
    // Based at 100 (rebased by a byte): days 108 and 117, then a zero byte.
    const bits = Buffer.from([0x00, 0x80, 0x40, 0x00]);
    expect(decodeDays(100, bits)).toEqual([108, 117]);
    expect(hasDay(100, bits, 108)).toBe(true);
    expect(hasDay(100, bits, 132)).toBe(false);
    expect(hasDay(100, bits, 99)).toBe(false);
  });

  it('refuses a day that is not a number', () => {
    expect(() => encodeDays([1, Number.NaN])).toThrow(RangeError);
  });
});
