import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearerToken, CLOCK_SKEW_SECONDS, lifetimeSeconds, signToken, TokenVerifier, verifyToken, verifyTokenSync } from './tokens';
import { actingFor, requireAdmin } from './viewer';

const secret = 'test-secret-0123456789-0123456789-abcdef';
// 2026-11-22T10:00:00Z
const now = Date.UTC(2026, 10, 22, 10, 0, 0);
const nowSec = now / 1000;

function b64(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

/** An HS256 token made by hand, the way any JOSE library makes one, from header and claims as given. */
function handMade(claims: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }, key = secret): string {
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** Claims of a valid learner token at `now`, with overrides (`undefined` removes a claim). */
function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const c: Record<string, unknown> = { sub: 'alice', roles: [], iat: nowSec, exp: nowSec + 3600, ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
}

function refusal(token: string, options: Parameters<typeof verifyTokenSync>[2] = { nowMs: now }): string {
  try {
    verifyTokenSync(token, secret, options);
  } catch (err) {
    expect(err).toMatchObject({ code: 'UNAUTHENTICATED' });
    return (err as Error).message;
  }
  throw new Error('the token was accepted');
}

describe('verifyToken', () => {
  it('accepts an HS256 token and reads its roles', async () => {
    const token = await signToken('alice@example.com', { secret, roles: ['service'], nowMs: now });
    const viewer = await verifyToken(token, secret, { nowMs: now });
    expect(viewer.id).toBe('alice@example.com');
    expect([...viewer.roles]).toEqual(['service']);
    // The old positional instant still works.
    expect((await verifyToken(token, secret, now)).id).toBe('alice@example.com');
  });

  it('accepts a token made by hand with HMAC-SHA256, as other JOSE libraries make them', () => {
    const token = handMade({ sub: 'bob', roles: ['admin'], iat: nowSec, exp: nowSec + 60 });
    expect(verifyTokenSync(token, secret, { nowMs: now })).toEqual({ id: 'bob', roles: new Set(['admin']) });
    // A header without typ is fine too.
    expect(verifyTokenSync(handMade(claims(), { alg: 'HS256' }), secret, { nowMs: now }).id).toBe('alice');
  });

  it('signs what a hand-made HS256 token holds, byte for byte', async () => {
    const token = await signToken('alice', { secret, nowMs: now, expiresIn: 3600 });
    const [header, payload, signature] = token.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(payload!, 'base64url').toString())).toEqual({ roles: [], sub: 'alice', iat: nowSec, exp: nowSec + 3600 });
    expect(signature).toBe(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url'));
  });

  it('refuses a token without exp, or with an exp that is not a finite number', () => {
    expect(refusal(handMade(claims({ exp: undefined })))).toBe('Your token has no expiry; ask for a new one.');
    expect(refusal(handMade(claims({ exp: String(nowSec + 60) })))).toBe('Your token is not valid.');
    // JSON.parse reads 1e999 as Infinity: an endless token in disguise.
    const input = `${b64({ alg: 'HS256' })}.${Buffer.from(`{"sub":"alice","exp":1e999}`).toString('base64url')}`;
    expect(refusal(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)).toBe('Your token is not valid.');
  });

  it('refuses an expired token, allowing the clock skew', async () => {
    const token = await signToken('alice', { secret, expiresIn: 60, nowMs: now });
    // 2026-11-22T10:01:20Z: 20 s past exp, within the skew.
    expect(verifyTokenSync(token, secret, { nowMs: now + 80_000 }).id).toBe('alice');
    // 2026-11-22T10:01:30Z: exp + skew.
    expect(refusal(token, { nowMs: now + (60 + CLOCK_SKEW_SECONDS) * 1000 })).toBe('Your token has expired; sign in again.');
    await expect(verifyToken(token, secret, { nowMs: now + 3_600_000 })).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
  });

  it('honours nbf and refuses an iat in the future, beyond the skew', () => {
    expect(refusal(handMade(claims({ nbf: nowSec + 60 })))).toBe('Your token is not valid yet.');
    expect(verifyTokenSync(handMade(claims({ nbf: nowSec + 20 })), secret, { nowMs: now }).id).toBe('alice');
    expect(refusal(handMade(claims({ iat: nowSec + 120, exp: nowSec + 3600 })))).toMatch(/issued in the future/);
    expect(verifyTokenSync(handMade(claims({ iat: nowSec + 20 })), secret, { nowMs: now }).id).toBe('alice');
    expect(refusal(handMade(claims({ nbf: 'soon' })))).toBe('Your token is not valid.');
  });

  it('refuses a token signed with another secret, or with its payload changed', async () => {
    const other = await signToken('alice', { secret: 'another-secret-0123456789-0123456789', nowMs: now });
    expect(refusal(other)).toBe('Your token is not valid.');
    const token = await signToken('alice', { secret, nowMs: now });
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${b64(claims({ roles: ['admin'] }))}.${signature}`;
    expect(refusal(tampered)).toBe('Your token is not valid.');
  });

  it('refuses alg none, other algorithms and crit headers, even correctly signed', () => {
    const payload = b64(claims({ roles: ['admin'] }));
    expect(refusal(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`)).toBe('Your token is not valid.');
    expect(refusal(`${b64({ alg: 'none' })}.${payload}.${createHmac('sha256', secret).update('x').digest('base64url')}`)).toBe('Your token is not valid.');
    expect(refusal(handMade(claims(), { alg: 'HS512', typ: 'JWT' }))).toBe('Your token is not valid.');
    expect(refusal(handMade(claims(), { alg: 'RS256', typ: 'JWT' }))).toBe('Your token is not valid.');
    expect(refusal(handMade(claims(), { alg: 'hs256' }))).toBe('Your token is not valid.');
    expect(refusal(handMade(claims(), { alg: 'HS256', typ: 'at+jwt' }))).toBe('Your token is not valid.');
    expect(refusal(handMade(claims(), { alg: 'HS256', crit: ['b64'], b64: false }))).toBe('Your token is not valid.');
  });

  it('checks the audience when one is configured', async () => {
    const options = { nowMs: now, audience: 'lms-progress' };
    expect(refusal(handMade(claims({ aud: 'billing' })), options)).toBe('Your token is meant for another service.');
    expect(refusal(handMade(claims({ aud: ['billing', 'search'] })), options)).toBe('Your token is meant for another service.');
    expect(refusal(handMade(claims()), options)).toBe('Your token is meant for another service.');
    expect(verifyTokenSync(handMade(claims({ aud: 'lms-progress' })), secret, options).id).toBe('alice');
    expect(verifyTokenSync(handMade(claims({ aud: ['billing', 'lms-progress'] })), secret, options).id).toBe('alice');
    const signed = await signToken('alice', { secret, nowMs: now, audience: 'lms-progress' });
    expect(verifyTokenSync(signed, secret, options).id).toBe('alice');
    // Without a configured audience, aud is not looked at.
    expect(verifyTokenSync(handMade(claims({ aud: 'billing' })), secret, { nowMs: now }).id).toBe('alice');
  });

  it('checks the issuer when one is configured', async () => {
    const options = { nowMs: now, issuer: 'https://id.example.com' };
    expect(refusal(handMade(claims({ iss: 'https://evil.example.com' })), options)).toBe('Your token comes from an issuer this service does not trust.');
    expect(refusal(handMade(claims()), options)).toBe('Your token comes from an issuer this service does not trust.');
    const signed = await signToken('alice', { secret, nowMs: now, issuer: 'https://id.example.com' });
    expect(verifyTokenSync(signed, secret, options).id).toBe('alice');
  });

  it('refuses a token without a valid learner in sub', async () => {
    expect(refusal(handMade(claims({ sub: undefined })))).toBe('Your token does not name a valid learner.');
    expect(refusal(handMade(claims({ sub: 42 })))).toBe('Your token does not name a valid learner.');
    expect(refusal(handMade(claims({ sub: 'two words' })))).toBe('Your token does not name a valid learner.');
    expect(refusal(await signToken('', { secret, nowMs: now }))).toBe('Your token does not name a valid learner.');
  });

  it('refuses garbage', () => {
    for (const garbage of ['', 'not-a-jwt', 'a.b', 'a.b.c.d', '...', 'e30.e30.', `${b64([1])}.${b64(claims())}.AAAA`, `${b64('HS256')}.e30.AAAA`, 'eyJhbGciOiJIUzI1NiJ9.!!!.AAAA', '%%%.e30.AAAA']) {
      expect(refusal(garbage)).toBe('Your token is not valid.');
    }
    // Valid base64url, but not JSON.
    const notJson = `${b64({ alg: 'HS256' })}.${Buffer.from('{sub:').toString('base64url')}`;
    expect(refusal(`${notJson}.${createHmac('sha256', secret).update(notJson).digest('base64url')}`)).toBe('Your token is not valid.');
    // Correctly signed, but in plain base64 with padding rather than base64url.
    const padded = `${b64({ alg: 'HS256' })}.${Buffer.from(JSON.stringify(claims({ sub: 'ali' }))).toString('base64')}`;
    expect(padded).toMatch(/=$/);
    expect(refusal(`${padded}.${createHmac('sha256', secret).update(padded).digest('base64url')}`)).toBe('Your token is not valid.');
    // A payload that is JSON but not an object.
    const array = `${b64({ alg: 'HS256' })}.${b64(['alice'])}`;
    expect(refusal(`${array}.${createHmac('sha256', secret).update(array).digest('base64url')}`)).toBe('Your token is not valid.');
  });

  it('compares signatures of any length without throwing', async () => {
    const token = await signToken('alice', { secret, nowMs: now });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    for (const sig of ['AA', signature.slice(0, -2), `${signature}AAAA`, 'A'.repeat(400)]) {
      expect(refusal(`${header}.${payload}.${sig}`)).toBe('Your token is not valid.');
    }
  });

  it('refuses a second spelling of the same signature', async () => {
    const token = await signToken('alice', { secret, nowMs: now });
    const last = token.at(-1)!;
    // 32 bytes take 43 characters; the last one carries 2 unused bits, so 4 characters decode alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
    const other = `${token.slice(0, -1)}${twin}`;
    expect(Buffer.from(other.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    expect(refusal(other)).toBe('Your token is not valid.');
  });

  it('ignores roles it does not know', async () => {
    const token = await signToken('bob', { secret, roles: ['superuser' as never, 'admin'], nowMs: now });
    expect([...(await verifyToken(token, secret, { nowMs: now })).roles]).toEqual(['admin']);
    expect([...verifyTokenSync(handMade(claims({ roles: 'admin' })), secret, { nowMs: now }).roles]).toEqual([]);
  });
});

describe('signToken', () => {
  it('reads lifetimes as seconds or with a unit, and refuses others', async () => {
    expect(lifetimeSeconds(90)).toBe(90);
    expect(lifetimeSeconds('15m')).toBe(900);
    expect(lifetimeSeconds('12h')).toBe(43_200);
    expect(lifetimeSeconds('7 days')).toBe(604_800);
    expect(() => lifetimeSeconds('forever')).toThrow(RangeError);
    expect(() => lifetimeSeconds(0)).toThrow(RangeError);
    await expect(signToken('alice', { secret, expiresIn: 'soon' })).rejects.toThrow(/not a lifetime/);
  });
});

describe('bearerToken', () => {
  it('reads Bearer headers and refuses other schemes', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken(undefined)).toBeNull();
    expect(() => bearerToken('Basic dXNlcjpwYXNz')).toThrow(/Bearer/);
  });
});

describe('actingFor', () => {
  const learner = { id: 'amy', roles: new Set<never>() };
  const service = { id: 'lms-backend', roles: new Set(['service'] as const) };

  it('lets a learner act for themself only', () => {
    expect(actingFor(learner)).toBe('amy');
    expect(actingFor(learner, 'amy')).toBe('amy');
    expect(() => actingFor(learner, 'bob')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });

  it('lets a service act for anyone', () => {
    expect(actingFor(service, 'bob')).toBe('bob');
  });

  it('needs a viewer, and admin for catalog changes', () => {
    expect(() => actingFor(null)).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED' }));
    expect(() => requireAdmin(learner)).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
  });
});

describe('TokenVerifier', () => {
  // 2026-11-22T10:00:00Z
  const at = Date.UTC(2026, 10, 22, 10, 0, 0);
  const secret = 'verifier-secret-0123456789-0123456789-abc';

  it('remembers a verified token and still refuses it once it expires', async () => {
    const v = new TokenVerifier(secret);
    const token = await signToken('amy', { secret, expiresIn: 60, nowMs: at });
    expect(v.verify(token, at).id).toBe('amy');
    expect(v.remembered()).toBe(1);
    expect(v.verify(token, at + 30_000).id).toBe('amy');
    expect(() => v.verify(token, at + 91_000)).toThrow(/expired/);
    expect(v.remembered()).toBe(0);
  });

  it('never remembers a refused token, and forgets the least recently used past its size', async () => {
    const v = new TokenVerifier(secret, {}, 2);
    const forged = await signToken('amy', { secret: 'another-secret-0123456789-0123456789-xyz', nowMs: at });
    expect(() => v.verify(forged, at)).toThrow(/not valid/);
    expect(() => v.verify(forged, at)).toThrow(/not valid/);
    expect(v.remembered()).toBe(0);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((s) => signToken(s, { secret, nowMs: at })));
    v.verify(a!, at);
    v.verify(b!, at);
    v.verify(a!, at); // a is now the most recently used
    v.verify(c!, at); // evicts b
    expect(v.remembered()).toBe(2);
  });

  it('checks audience and issuer before remembering', async () => {
    const v = new TokenVerifier(secret, { audience: 'lms' });
    const wrong = await signToken('amy', { secret, audience: 'other', nowMs: at });
    expect(() => v.verify(wrong, at)).toThrow(/another service/);
    expect(v.remembered()).toBe(0);
  });
});

describe('token lifetime', () => {
  // 2026-11-22T10:00:00Z
  const at = Date.UTC(2026, 10, 22, 10, 0, 0);
  const secret = 'lifetime-secret-0123456789-0123456789-abc';

  it('refuses an endless token (exp far beyond 400 days, or 1e300)', async () => {
    const year = await signToken('svc', { secret, roles: ['service'], expiresIn: 365 * 86_400, nowMs: at });
    expect(verifyTokenSync(year, secret, at).id).toBe('svc');
    const decade = await signToken('svc', { secret, roles: ['service'], expiresIn: 3650 * 86_400, nowMs: at });
    expect(() => verifyTokenSync(decade, secret, at)).toThrow(/400 days/);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const body = b64({ sub: 'svc', exp: 1e300 });
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    expect(() => verifyTokenSync(`${head}.${body}.${sig}`, secret, at)).toThrow(/400 days/);
  });
});

