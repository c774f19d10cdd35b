import { describe, expect, it } from 'vitest';
import { isCertificateCode, newCertificateCode, normaliseCertificateCode } from './certificates';

const FORMAT = /^CERT-[0-7][0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{5}){3}-[0-9A-HJKMNP-TV-Z]{6}$/;
const fixed = (fill: (i: number) => number) => (n: number) => Uint8Array.from({ length: n }, (_, i) => fill(i));

describe('newCertificateCode', () => {
  it('writes 16 random bytes as 26 Crockford base32 symbols in groups of 5-5-5-5-6', () => {
    const code = newCertificateCode();
    expect(code).toMatch(FORMAT);
    expect(isCertificateCode(code)).toBe(true);
  });

  it('encodes the bytes big-endian in 130 bits, two leading zero bits first', () => {
    expect(newCertificateCode(fixed(() => 0))).toBe('CERT-00000-00000-00000-00000-000000');
    // Only the lowest bit set: the last symbol is 1.
    expect(newCertificateCode(fixed((i) => (i === 15 ? 1 : 0)))).toBe('CERT-00000-00000-00000-00000-000001');
    // Only the highest of the 128 bits set: bits 00100 -> the first symbol is 4.
    expect(newCertificateCode(fixed((i) => (i === 0 ? 0x80 : 0)))).toBe('CERT-40000-00000-00000-00000-000000');
    // All 128 bits set: 00111 -> 7, then 25 symbols of 11111 -> Z.
    expect(newCertificateCode(fixed(() => 0xff))).toBe('CERT-7ZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZZ');
  });

  it('asks for 16 bytes and refuses a source that gives fewer', () => {
    const asked: number[] = [];
    newCertificateCode((n) => {
      asked.push(n);
      return new Uint8Array(n);
    });
    expect(asked).toEqual([16]);
    expect(() => newCertificateCode(() => new Uint8Array(15))).toThrow(/16 random bytes/);
  });

  it('gives 1000 distinct codes', () => {
    const codes = new Set(Array.from({ length: 1000 }, () => newCertificateCode()));
    expect(codes.size).toBe(1000);
  });
});

describe('normaliseCertificateCode', () => {
  const code = 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR-STVWY4';

  it('keeps a canonical code as it is', () => {
    expect(isCertificateCode(code)).toBe(true);
    expect(normaliseCertificateCode(code)).toBe(code);
  });

  it('accepts lowercase input and surrounding spaces', () => {
    expect(normaliseCertificateCode(`  ${code.toLowerCase()}\n`)).toBe(code);
    expect(isCertificateCode(code.toLowerCase())).toBe(false);
  });

  it('reads Crockford aliases: O as 0, I and L as 1', () => {
    expect(normaliseCertificateCode('cert-3k7qd-om1xz-a9b2c-hjnpr-stvwy4')).toBe(code);
    expect(normaliseCertificateCode('CERT-3K7QD-0MIXZ-A9B2C-HJNPR-STVWY4')).toBe(code);
    expect(normaliseCertificateCode('CERT-3K7QD-0mlXZ-A9B2C-HJNPR-STVWY4')).toBe(code);
  });

  it.each([
    ['one symbol short', 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR-STVWY'],
    ['one symbol long', 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR-STVWY44'],
    ['U, which Crockford leaves out', 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR-STVWU4'],
    ['a character outside base32', 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR-STVW*4'],
    ['a first symbol above 7 (more than 128 bits)', 'CERT-8K7QD-0M1XZ-A9B2C-HJNPR-STVWY4'],
    ['no prefix', '3K7QD-0M1XZ-A9B2C-HJNPR-STVWY4'],
    ['another prefix', 'CRT-3K7QD-0M1XZ-A9B2C-HJNPR-STVWY4'],
    ['no hyphens', 'CERT3K7QD0M1XZA9B2CHJNPRSTVWY4'],
    ['groups in the wrong places', 'CERT-3K7Q-D0M1XZ-A9B2C-HJNPR-STVWY4'],
    ['a space inside', 'CERT-3K7QD-0M1XZ-A9B2C-HJNPR STVWY4'],
    ['nothing', ''],
  ])('refuses %s', (_, s) => {
    expect(normaliseCertificateCode(s)).toBeNull();
    expect(isCertificateCode(s)).toBe(false);
  });
});
