import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { signToken } from '../domain/auth/tokens';
import type { Logger } from '../logger';
import type { Route } from './http';

/** Ids the one-click sign-in accepts: `demo-` and a short lower-case name. */
export const DEMO_LEARNER_ID = /^demo-[a-z0-9][a-z0-9-]{0,30}$/;

/** How long a demo learner's token lives. */
const DEMO_TOKEN_LIFETIME = '2h';

/** Largest body `POST /demo/token` reads. */
const MAX_DEMO_BODY_BYTES = 1024;

/** A file the dashboard serves, read once. */
interface Asset {
  body: Buffer;
  /** The body gzipped, sent to clients that accept it. */
  gzip: Buffer;
  type: string;
  etag: string;
}

/**
 * Pages have no framework and nothing from a CDN: the dashboard's own files (src/dashboard,
 * copied to dist/dashboard by the build) and graphql-ws's browser build from node_modules.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function assetOf(body: Buffer, type: string): Asset {
  return { body, gzip: gzipSync(body, { level: 9 }), type, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 20)}"` };
}

/** The directory of src/dashboard (or dist/dashboard), beside this file's directory. */
function dashboardDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'dashboard');
}

/** graphql-ws's browser build (UMD: `window.graphqlWs`), found from the installed package. */
function graphqlWsBrowserBuild(): Buffer {
  // The package exports no ./umd path, so go from its entry point to its root.
  const entry = createRequire(import.meta.url).resolve('graphql-ws');
  return readFileSync(join(dirname(entry), '..', 'umd', 'graphql-ws.min.js'));
}

/** Read the dashboard's files once. @throws when one is missing (a build that forgot them) */
function loadAssets(demoSignIn: boolean): Map<string, Asset> {
  const dir = dashboardDir();
  const file = (name: string) => readFileSync(join(dir, name));
  const page = file('index.html').toString('utf8').replace('__DEMO_SIGN_IN__', demoSignIn ? 'true' : 'false');
  return new Map([
    ['/', assetOf(Buffer.from(page, 'utf8'), 'text/html; charset=utf-8')],
    ['/dashboard/app.js', assetOf(file('app.js'), 'text/javascript; charset=utf-8')],
    ['/dashboard/style.css', assetOf(file('style.css'), 'text/css; charset=utf-8')],
    ['/dashboard/graphql-ws.js', assetOf(graphqlWsBrowserBuild(), 'text/javascript; charset=utf-8')],
  ]);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  // Each encoding is its own representation, with its own tag.
  const etag = gzip ? `${asset.etag.slice(0, -1)}-gz"` : asset.etag;
  const headers: Record<string, string> = {
    'content-type': asset.type,
    etag,
    // Revalidated on every load (a 304 is a few bytes): a restarted server's new files show at once.
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const body = gzip ? asset.gzip : asset.body;
  res.writeHead(200, { ...headers, ...(gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

const TOO_LARGE = Symbol('too large');

/** The body of a small JSON request; null when it is not JSON, TOO_LARGE past `maxBytes`. */
function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        resolve(null);
      }
    });
    req.on('error', () => resolve(null));
  });
}

/**
 * `POST /demo/token {"learnerId": "demo-ada"}`: a learner token (no roles, 2 h) for a demo
 * learner, signed with the server's secret, so the dashboard signs in with one click.
 */
async function demoToken(req: IncomingMessage, res: ServerResponse, options: DashboardOptions): Promise<void> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
    sendJson(res, 415, { error: 'Send {"learnerId": "demo-…"} as application/json.' });
    return;
  }
  const body = await readJson(req, MAX_DEMO_BODY_BYTES);
  if (body === TOO_LARGE) {
    // The rest of the body is not read: the connection closes after this answer.
    res.setHeader('connection', 'close');
    sendJson(res, 413, { error: `The body is larger than ${MAX_DEMO_BODY_BYTES} bytes.` });
    res.once('finish', () => req.destroy());
    return;
  }
  const learnerId = (body as { learnerId?: unknown } | null)?.learnerId;
  if (typeof learnerId !== 'string' || !DEMO_LEARNER_ID.test(learnerId)) {
    sendJson(res, 400, { error: 'learnerId must be a demo learner: "demo-" and up to 31 lower-case letters, digits or hyphens.' });
    return;
  }
  const token = await signToken(learnerId, { secret: options.jwtSecret, expiresIn: DEMO_TOKEN_LIFETIME, audience: options.jwtAudience, issuer: options.jwtIssuer });
  options.log.info({ learnerId }, 'demo sign-in');
  sendJson(res, 200, { learnerId, token });
}

export interface DashboardOptions {
  /** Serve POST /demo/token (config DEMO_SIGN_IN). */
  demoSignIn: boolean;
  jwtSecret: string;
  jwtAudience?: string;
  jwtIssuer?: string;
  log: Logger;
}

/**
 * The live learner dashboard at `/` (its files under `/dashboard/`) and, when demo sign-in is
 * on, `POST /demo/token`. Files are read once, at start, and answered from memory with an ETag.
 * @throws when the dashboard's files are missing
 */
export function dashboardRoute(options: DashboardOptions): Route {
  const assets = loadAssets(options.demoSignIn);
  return (req, res) => {
    const path = pathOf(req);
    if (req.method === 'POST' && path === '/demo/token' && options.demoSignIn) {
      demoToken(req, res, options).catch((err) => {
        options.log.error({ err }, 'demo sign-in failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'Demo sign-in failed.' });
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const asset = assets.get(path === '/index.html' ? '/' : path);
    if (!asset) return false;
    sendAsset(req, res, asset);
    return true;
  };
}
