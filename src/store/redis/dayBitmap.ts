/**
 * A learner's active days as the scripts keep them (lua/includes/activeDay.lua): one hash field
 * `days`, a bitmap relative to the base day `d0` (bit i is day d0 + i, byte floor(i / 8), most
 * significant bit first, as Redis bitmaps count), with no trailing zero bytes needed. Pure.
 * The bitmap is binary: write it as a Buffer and read it with the *Buffer commands of ioredis
 * (a string reply decodes it as UTF-8 and loses bytes).
 */

export interface DayBitmap {
  /** The day of bit 0 (days since 1970-01-01). */
  d0: number;
  bits: Buffer;
}

/** The bitmap of `days` (any order, repeats allowed), based at the first; null for none. */
export function encodeDays(days: Iterable<number>): DayBitmap | null {
  let first = Infinity;
  let last = -Infinity;
  for (const d of days) {
    if (!Number.isSafeInteger(d)) throw new RangeError(`Not a day number: ${d}`);
    if (d < first) first = d;
    if (d > last) last = d;
  }
  if (first === Infinity) return null;
  const bits = Buffer.alloc(Math.floor((last - first) / 8) + 1);
  for (const d of days) {
    const i = d - first;
    bits[i >> 3]! |= 0x80 >> (i & 7);
  }
  return { d0: first, bits };
}

/** The days of a bitmap based at `d0`, oldest first. */
export function decodeDays(d0: number, bits: Uint8Array): number[] {
  const out: number[] = [];
  for (let at = 0; at < bits.length; at += 1) {
    const b = bits[at]!;
    if (b === 0) continue;
    for (let k = 0; k < 8; k += 1) if (b & (0x80 >> k)) out.push(d0 + at * 8 + k);
  }
  return out;
}

/** Whether `day` is in the bitmap based at `d0`. */
export function hasDay(d0: number, bits: Uint8Array, day: number): boolean {
  const i = day - d0;
  if (i < 0 || !Number.isInteger(i)) return false;
  const at = Math.floor(i / 8);
  return at < bits.length && (bits[at]! & (0x80 >> (i % 8))) !== 0;
}
