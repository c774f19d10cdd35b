import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { Unauthenticated } from '../errors';
import { learnerId, type Role, type Viewer } from './viewer';

const ALGORITHM = 'HS256';
const ROLES: readonly Role[] = ['service', 'admin'];

/** How far the issuer's clock may be from ours, in seconds, for `exp`, `nbf` and `iat`. */
export const CLOCK_SKEW_SECONDS = 30;

/** The longest a token may live from now: service tokens may be long-lived, never endless. */
export const MAX_TOKEN_LIFETIME_SECONDS = 400 * 86_400;

/** What a verification checks besides the signature. */
export interface VerifyOptions {
  /** The instant to verify at (default: now). */
  nowMs?: number;
  /** When set, the token's `aud` (a string or an array of strings) must hold it. */
  audience?: string;
  /** When set, the token's `iss` must equal it. */
  issuer?: string;
}

const keys = new Map<string, KeyObject>();

/** The HMAC key of a secret, made once: importing it on every request costs a tenth of a request. */
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function invalid(): Unauthenticated {
  return new Unauthenticated('Your token is not valid.');
}

/** A base64url segment holding a JSON object. @throws Unauthenticated when it is anything else */
function jsonObjectOf(segment: string): Record<string, unknown> {
  if (!BASE64URL.test(segment)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  return value as Record<string, unknown>;
}

function signatureOf(signingInput: string, secret: string): Buffer {
  return createHmac('sha256', keyOf(secret)).update(signingInput).digest();
}

/** A NumericDate claim: absent, or a finite number of seconds. @throws Unauthenticated otherwise */
function secondsOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  // JSON.parse turns 1e999 into Infinity: an endless token must not pass as a number.
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid();
  return value;
}

/**
 * Verify a bearer token, synchronously: HS256 only (`alg: none` and every other algorithm are
 * refused), `exp` required, `nbf` and `iat` honoured, `aud` and `iss` checked when configured,
 * all with {@link CLOCK_SKEW_SECONDS} of tolerance.
 * @param options the checks to make, or (as before) the instant to verify at
 * @returns the viewer it names, with the roles it claims that this service knows
 * @throws Unauthenticated for a malformed, wrongly signed, endless, expired, not yet valid or
 *   misaddressed token, or one without a valid learner id in `sub`
 */
export function verifyTokenSync(token: string, secret: string, options: VerifyOptions | number = {}): Viewer {
  return verifiedClaims(token, secret, options).viewer;
}

/** A verified token's viewer and the times it is valid between (seconds; nbf -Infinity when absent). */
interface VerifiedClaims {
  viewer: Viewer;
  exp: number;
  nbf: number;
}

/** Refuse a token outside its validity window at `now` (seconds), with the clock skew allowed. */
function checkWindow(exp: number, nbf: number, now: number): void {
  if (exp <= now - CLOCK_SKEW_SECONDS) throw new Unauthenticated('Your token has expired; sign in again.');
  if (nbf > now + CLOCK_SKEW_SECONDS) throw new Unauthenticated('Your token is not valid yet.');
}

function verifiedClaims(token: string, secret: string, options: VerifyOptions | number): VerifiedClaims {
  const { nowMs = Date.now(), audience, issuer } = typeof options === 'number' ? { nowMs: options } : options;
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid();
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = jsonObjectOf(headerPart);
  if (header.alg !== ALGORITHM) throw invalid();
  if (header.typ !== undefined && (typeof header.typ !== 'string' || header.typ.toUpperCase() !== 'JWT')) throw invalid();
  // `crit` names extensions the token must not be read without; this code knows none of them.
  if (header.crit !== undefined) throw invalid();

  const given = Buffer.from(signaturePart, 'base64url');
  // Only the canonical spelling of a signature passes, so a token has exactly one string form.
  if (!BASE64URL.test(signaturePart) || given.toString('base64url') !== signaturePart) throw invalid();
  const expected = signatureOf(`${headerPart}.${payloadPart}`, secret);
  // timingSafeEqual throws on buffers of different lengths; their length is no secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();

  const payload = jsonObjectOf(payloadPart);
  const now = Math.floor(nowMs / 1000);
  const exp = secondsOf(payload.exp);
  if (exp === undefined) throw new Unauthenticated('Your token has no expiry; ask for a new one.');
  if (exp > now + MAX_TOKEN_LIFETIME_SECONDS) throw new Unauthenticated('Your token lives longer than 400 days; ask for one that expires sooner.');
  const nbf = secondsOf(payload.nbf) ?? -Infinity;
  checkWindow(exp, nbf, now);
  const iat = secondsOf(payload.iat);
  if (iat !== undefined && iat > now + CLOCK_SKEW_SECONDS) {
    throw new Unauthenticated('Your token says it was issued in the future; ask for a new one.');
  }
  if (audience !== undefined) {
    const aud = payload.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(audience)) throw new Unauthenticated('Your token is meant for another service.');
  }
  if (issuer !== undefined && payload.iss !== issuer) {
    throw new Unauthenticated('Your token comes from an issuer this service does not trust.');
  }

  const sub = learnerId.safeParse(payload.sub);
  if (!sub.success) throw new Unauthenticated('Your token does not name a valid learner.');
  const claimed = Array.isArray(payload.roles) ? payload.roles : [];
  const roles = new Set<Role>(ROLES.filter((r) => claimed.includes(r)));
  return { viewer: { id: sub.data, roles }, exp, nbf };
}

/** Most verified tokens a {@link TokenVerifier} remembers. */
export const TOKEN_CACHE_SIZE = 10_000;

/**
 * Verifies bearer tokens for one configuration, remembering the ones it verified (bounded, the
 * least recently used forgotten first) so a client's repeated token costs a map lookup instead
 * of an HMAC and two JSON parses. A remembered token is still checked against the clock on
 * every use: it stops passing when its `exp` passes, as if verified again.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, VerifiedClaims>();

  constructor(
    private readonly secret: string,
    private readonly checks: { audience?: string; issuer?: string } = {},
    private readonly size = TOKEN_CACHE_SIZE,
  ) {}

  /**
   * @returns the viewer the token names
   * @throws Unauthenticated as {@link verifyTokenSync} does
   */
  verify(token: string, nowMs = Date.now()): Viewer {
    const now = Math.floor(nowMs / 1000);
    const hit = this.verified.get(token);
    if (hit) {
      // An expired token is forgotten; one not valid yet is kept for when it is.
      if (hit.exp <= now - CLOCK_SKEW_SECONDS) this.verified.delete(token);
      checkWindow(hit.exp, hit.nbf, now);
      // Most recently used last: the map's order is the eviction order.
      this.verified.delete(token);
      this.verified.set(token, hit);
      return hit.viewer;
    }
    const claims = verifiedClaims(token, this.secret, { nowMs, ...this.checks });
    if (this.verified.size >= this.size) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims.viewer;
  }

  /** Tokens remembered (tests). */
  remembered(): number {
    return this.verified.size;
  }
}

/**
 * {@link verifyTokenSync} for callers that await.
 * @throws Unauthenticated (as a rejection) for every token `verifyTokenSync` refuses
 */
export async function verifyToken(token: string, secret: string, options: VerifyOptions | number = {}): Promise<Viewer> {
  return verifyTokenSync(token, secret, options);
}

/** Pull the token out of `Bearer <token>`; null when there is no header. @throws Unauthenticated */
export function bearerToken(header: string | null | undefined): string | null {
  if (header === undefined || header === null || header.trim() === '') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (!m) throw new Unauthenticated('Send the token as "Authorization: Bearer <token>".');
  return m[1]!;
}

const SECONDS_PER: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_557_600 };
const UNIT_OF: Record<string, string> = {
  s: 's', sec: 's', secs: 's', second: 's', seconds: 's',
  m: 'm', min: 'm', mins: 'm', minute: 'm', minutes: 'm',
  h: 'h', hr: 'h', hrs: 'h', hour: 'h', hours: 'h',
  d: 'd', day: 'd', days: 'd',
  w: 'w', week: 'w', weeks: 'w',
  y: 'y', yr: 'y', yrs: 'y', year: 'y', years: 'y',
};

/**
 * Seconds in a lifetime: a number of seconds, or `<n><unit>` such as `90s`, `15m`, `12h`, `7d`.
 * @throws RangeError for anything else, or a lifetime that is not positive
 */
export function lifetimeSeconds(expiresIn: string | number): number {
  let seconds: number;
  if (typeof expiresIn === 'number') {
    seconds = expiresIn;
  } else {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(expiresIn.trim());
    const unit = m && UNIT_OF[m[2]!.toLowerCase()];
    if (!m || !unit) throw new RangeError(`"${expiresIn}" is not a lifetime: write it like 90s, 15m, 12h or 7d.`);
    seconds = Math.round(Number(m[1]) * SECONDS_PER[unit]!);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError('A token lifetime must be a positive number of seconds.');
  return seconds;
}

/**
 * Sign an HS256 token for a learner (development helper and tests); it always carries `exp`.
 * @throws RangeError when `expiresIn` is not a lifetime
 */
export async function signToken(
  sub: string,
  options: { secret: string; roles?: Role[]; expiresIn?: string | number; nowMs?: number; audience?: string; issuer?: string },
): Promise<string> {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const payload = {
    roles: options.roles ?? [],
    sub,
    iat,
    exp: iat + lifetimeSeconds(options.expiresIn ?? '12h'),
    ...(options.audience === undefined ? {} : { aud: options.audience }),
    ...(options.issuer === undefined ? {} : { iss: options.issuer }),
  };
  const signingInput = `${base64urlJson({ alg: ALGORITHM, typ: 'JWT' })}.${base64urlJson(payload)}`;
  return `${signingInput}.${signatureOf(signingInput, options.secret).toString('base64url')}`;
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
