import { describe, expect, it } from 'vitest';
import { bearerToken, signToken, verifyToken } from './tokens';
import { actingFor, requireAdmin } from './viewer';

const secret = 'test-secret-0123456789-0123456789-abcdef';
// 2026-11-22T10:00:00Z
const now = Date.UTC(2026, 10, 22, 10, 0, 0);

function b64(o: object): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('verifyToken', () => {
  it('accepts an HS256 token and reads its roles', async () => {
    const token = await signToken('alice@example.com', { secret, roles: ['service'], nowMs: now });
    const viewer = await verifyToken(token, secret, now);
    expect(viewer.id).toBe('alice@example.com');
    expect([...viewer.roles]).toEqual(['service']);
  });

  it('refuses an expired token', async () => {
    const token = await signToken('alice', { secret, expiresIn: 60, nowMs: now });
    await expect(verifyToken(token, secret, now + 61_000)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await signToken('alice', { secret: 'another-secret-0123456789-0123456789', nowMs: now });
    await expect(verifyToken(token, secret, now)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', roles: ['admin'], exp: now / 1000 + 60 })}.`;
    await expect(verifyToken(token, secret, now)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('refuses garbage and a token without a subject', async () => {
    await expect(verifyToken('not-a-jwt', secret, now)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const token = await signToken('', { secret, nowMs: now });
    await expect(verifyToken(token, secret, now)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('ignores roles it does not know', async () => {
    const token = await signToken('bob', { secret, roles: ['superuser' as never, 'admin'], nowMs: now });
    expect([...(await verifyToken(token, secret, now)).roles]).toEqual(['admin']);
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
