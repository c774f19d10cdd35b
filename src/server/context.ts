import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { YogaInitialContext } from 'graphql-yoga';
import { bearerToken, type TokenVerifier } from '../domain/auth/tokens';
import type { Viewer } from '../domain/auth/viewer';
import { DomainError } from '../domain/errors';
import type { LearnerReads } from '../domain/ports';
import type { Context, Services } from '../schema/context';
import { createLoaders } from '../schema/loaders';

/**
 * The viewer a request or WebSocket connection names, verified; null without a token.
 * @throws Unauthenticated for a bad token
 */
export function viewerOf(header: unknown, tokens: TokenVerifier): Viewer | null {
  const token = bearerToken(typeof header === 'string' ? header : null);
  return token ? tokens.verify(token) : null;
}

/** A WebSocket connection's authorization: its connectionParams, then its upgrade request's header. */
export function connectionAuthorization(params: Record<string, unknown>, upgradeRequest?: IncomingMessage): unknown {
  return params.authorization ?? params.Authorization ?? upgradeRequest?.headers.authorization;
}

/**
 * The Authorization header (any case) among the headers an operation carries in its
 * `extensions.headers`, as GraphiQL sends them over WebSocket; undefined when there is none.
 */
export function headersAuthorization(extensions: unknown): unknown {
  const headers = (extensions as { headers?: unknown } | null | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return undefined;
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === 'authorization') return value;
  return undefined;
}

/** The authorization header of an HTTP request or of a WebSocket operation. */
export function authorizationOf(initial: YogaInitialContext & { connectionParams?: Record<string, unknown>; upgradeRequest?: IncomingMessage }): unknown {
  const params = initial.connectionParams;
  if (params) return connectionAuthorization(params, initial.upgradeRequest);
  return initial.request.headers.get('authorization') ?? undefined;
}

/**
 * The key of per-client limits: the token's subject, else the peer address of the HTTP request
 * or WebSocket upgrade (behind a proxy, the proxy's: limit at the proxy then).
 */
export function clientOf(viewer: Viewer | null, initial: { req?: IncomingMessage }): string {
  return viewer ? `sub:${viewer.id}` : `ip:${initial.req?.socket?.remoteAddress ?? 'unknown'}`;
}

/**
 * Yoga's context factory: the verified viewer, the services, per-request loaders (cached for
 * one HTTP request; uncached for subscription events, which must see fresh state) and a
 * request id for logs.
 */
export function contextFactory(tokens: TokenVerifier, services: Services, reads: LearnerReads) {
  return async (initial: YogaInitialContext): Promise<Context> => {
    const ws = 'connectionParams' in initial && initial.connectionParams !== undefined;
    let viewer: Viewer | null;
    try {
      viewer = viewerOf(authorizationOf(initial as never), tokens);
    } catch (err) {
      if (err instanceof DomainError) throw new GraphQLError(err.message, { extensions: { code: err.code, http: { status: 401 } } });
      throw err;
    }
    const requestId = (!ws && initial.request.headers.get('x-request-id')?.slice(0, 100)) || randomUUID();
    return { viewer, services, loaders: createLoaders(reads, !ws, services.activity, () => services.clock.now()), requestId, client: clientOf(viewer, initial as never) };
  };
}
