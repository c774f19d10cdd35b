import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { Unauthenticated } from '../errors';
import { learnerId, type Role, type Viewer } from './viewer';

const ALGORITHM = 'HS256';
const ROLES: readonly Role[] = ['service', 'admin'];

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

/**
 * Verify a bearer token (HS256 only: `alg: none` and every other algorithm are refused).
 * @returns the viewer it names
 * @throws Unauthenticated for an expired, malformed or wrongly signed token
 */
export async function verifyToken(token: string, secret: string, nowMs?: number): Promise<Viewer> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), {
      algorithms: [ALGORITHM],
      requiredClaims: ['sub'],
      ...(nowMs === undefined ? {} : { currentDate: new Date(nowMs) }),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new Unauthenticated('Your token has expired; sign in again.');
    throw new Unauthenticated('Your token is not valid.');
  }
  const sub = learnerId.safeParse(payload.sub);
  if (!sub.success) throw new Unauthenticated('Your token does not name a valid learner.');
  const claimed = Array.isArray(payload.roles) ? payload.roles : [];
  const roles = new Set<Role>(ROLES.filter((r) => claimed.includes(r)));
  return { id: sub.data, roles };
}

/** Pull the token out of `Bearer <token>`; null when there is no header. @throws Unauthenticated */
export function bearerToken(header: string | null | undefined): string | null {
  if (header === undefined || header === null || header.trim() === '') return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  if (!m) throw new Unauthenticated('Send the token as "Authorization: Bearer <token>".');
  return m[1]!;
}

/** Sign a token for a learner (development helper and tests). */
export async function signToken(
  sub: string,
  options: { secret: string; roles?: Role[]; expiresIn?: string | number; nowMs?: number },
): Promise<string> {
  const iat = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const jwt = new SignJWT({ roles: options.roles ?? [] })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt(iat);
  const exp = options.expiresIn ?? '12h';
  jwt.setExpirationTime(typeof exp === 'number' ? iat + exp : exp);
  return jwt.sign(keyOf(options.secret));
}
