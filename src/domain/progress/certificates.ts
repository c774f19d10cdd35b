import { randomBytes } from 'node:crypto';

/**
 * Certificate verification codes.
 *
 * Format: `CERT-XXXXX-XXXXX-XXXXX-XXXXX-XXXXXX`, the prefix then 26 Crockford base32 symbols
 * (`0-9 A-Z` without I, L, O, U) in groups of 5, 5, 5, 5 and 6. The 26 symbols are the 16
 * random bytes read as one big-endian 128-bit number, written in 130 bits with two leading
 * zero bits (as ULID does), so the first symbol is always 0..7 and every code maps back to
 * exactly one byte string. 128 bits of randomness make codes unguessable: they can be public.
 */

/** A certificate: the learner completed the course (every lesson, every quiz) at `issuedAt`. */
export interface IssuedCertificate {
  code: string;
  learnerId: string;
  courseId: string;
  /** ms: the time of the event that completed the course */
  issuedAt: number;
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_BYTES = 16;
const CODE_SYMBOLS = 26;
const GROUPS = [5, 5, 5, 5, 6] as const;
const PREFIX = 'CERT';
/** Most characters a typed code may have, spaces around it included. */
const MAX_TYPED_LENGTH = 64;

/** The canonical form: what `newCertificateCode` returns and storage holds. */
const CANONICAL = /^CERT-[0-7][0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{6}$/;

function encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let symbols = '';
  for (let i = CODE_SYMBOLS - 1; i >= 0; i -= 1) symbols += ALPHABET[Number((n >> BigInt(5 * i)) & 31n)];
  const groups: string[] = [PREFIX];
  let at = 0;
  for (const size of GROUPS) {
    groups.push(symbols.slice(at, at + size));
    at += size;
  }
  return groups.join('-');
}

/**
 * A new certificate code from 16 bytes of `random` (the CSPRNG by default; tests pass their own).
 * @throws Error when `random` returns other than 16 bytes.
 */
export function newCertificateCode(random: (bytes: number) => Uint8Array = randomBytes): string {
  const bytes = random(CODE_BYTES);
  if (bytes.length !== CODE_BYTES) throw new Error(`A certificate code needs ${CODE_BYTES} random bytes, got ${bytes.length}.`);
  return encode(bytes);
}

/** True when `s` is a code in canonical form (uppercase, no aliases); see `normaliseCertificateCode` for user input. Pure. */
export function isCertificateCode(s: string): boolean {
  return CANONICAL.test(s);
}

/**
 * The canonical form of a code as a user typed it, or null when it cannot be one: surrounding
 * spaces are trimmed, letters uppercased, and Crockford's aliases read as the digits they stand
 * for (O as 0, I and L as 1); the prefix, the hyphens, the group lengths and the range of the
 * first symbol must be exact. A lookup that gets null answers "not found" without asking
 * storage. Pure.
 */
export function normaliseCertificateCode(s: string): string | null {
  // Longer than any code, even with spaces around it: not one, and not worth uppercasing.
  if (s.length > MAX_TYPED_LENGTH) return null;
  const upper = s.trim().toUpperCase();
  if (!upper.startsWith(`${PREFIX}-`)) return null;
  const body = upper.slice(PREFIX.length).replace(/O/g, '0').replace(/[IL]/g, '1');
  const code = PREFIX + body;
  return CANONICAL.test(code) ? code : null;
}
