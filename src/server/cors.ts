import type { YogaServerOptions } from 'graphql-yoga';
import type { CorsOrigins } from '../config';

/** http(s)://localhost, 127.0.0.1 or [::1], any port. */
const LOOPBACK_ORIGIN = /^https?:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

/** Whether a browser page at `origin` may call the API from another origin. */
export function originAllowed(origin: string, allowed: CorsOrigins): boolean {
  return allowed.any || allowed.origins.includes(origin) || (allowed.localhost && LOOPBACK_ORIGIN.test(origin));
}

/**
 * Yoga's CORS option from the allow-list: an allowed origin is echoed (with Vary: Origin),
 * any other gets no CORS header at all, so the browser keeps the answer from the page. No
 * credentials are allowed: the API authenticates by the Authorization header, never cookies.
 */
export function corsOption(allowed: CorsOrigins): NonNullable<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>['cors']> {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !originAllowed(origin, allowed)) return false;
    return {
      // Checked above: '*' makes yoga echo the request's origin and add Vary: Origin.
      origin: ['*'],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'accept', 'x-request-id'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    };
  };
}
