/**
 * The dashboard's HTTP side: its files from memory with ETags (and gzip), the graphql-ws
 * browser build from the installed package, nothing from elsewhere, and POST /demo/token only
 * when DEMO_SIGN_IN is on. (The page itself runs in Chromium in browser.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTokenSync } from '../src/domain/auth/tokens';
import { createLogger } from '../src/logger';
import { dashboardRoute } from '../src/server/dashboard';
import { TEST_SECRET } from './harness';

/** A server answering with the dashboard's route, and 404 for whatever it lets through. */
async function serve(demoSignIn: boolean): Promise<{ server: Server; base: string }> {
  const route = dashboardRoute({ demoSignIn, jwtSecret: TEST_SECRET, log: createLogger('silent') });
  const server = createServer((req, res) => {
    if (route(req, res)) return;
    res.writeHead(404);
    res.end('not the dashboard');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

const demoToken = (base: string, body: string, type = 'application/json') => fetch(`${base}/demo/token`, { method: 'POST', headers: { 'content-type': type }, body });

describe('the dashboard over HTTP, demo sign-in on', () => {
  let on: { server: Server; base: string };
  beforeAll(async () => {
    on = await serve(true);
  });
  afterAll(() => new Promise<void>((resolve) => on.server.close(() => resolve())));

  it('serves the page and its files with an ETag, 304 when unchanged, gzip when accepted, from this server only', async () => {
    const page = await fetch(`${on.base}/`, { headers: { 'accept-encoding': 'identity' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-demo-sign-in="true"');
    // Every script, style and link is a path on this server: it works offline.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['/dashboard/style.css', '/dashboard/graphql-ws.js', '/dashboard/app.js']));
    for (const ref of refs) expect(ref).toMatch(/^(?:\/[a-z]|data:)/);

    const etag = page.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(`${on.base}/`, { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');

    for (const [path, type] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/graphql-ws.js', 'text/javascript; charset=utf-8'],
    ] as const) {
      const plain = await fetch(`${on.base}${path}`, { headers: { 'accept-encoding': 'identity' } });
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toBe(type);
      const body = Buffer.from(await plain.arrayBuffer());
      // fetch would gunzip by itself; node:http shows the bytes as sent.
      const zipped = await rawGet(`${on.base}${path}`, { 'accept-encoding': 'gzip, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(body.length);
      expect(gunzipSync(zipped.body).equals(body)).toBe(true);
      expect(zipped.headers.etag).not.toBe(plain.headers.get('etag'));
    }
  });

  it('serves graphql-ws browser build from the installed package', async () => {
    const pkg = dirname(dirname(createRequire(import.meta.url).resolve('graphql-ws')));
    const served = Buffer.from(await (await fetch(`${on.base}/dashboard/graphql-ws.js`)).arrayBuffer());
    expect(served.equals(readFileSync(join(pkg, 'umd', 'graphql-ws.min.js')))).toBe(true);
  });

  it('lets through what is not the dashboard', async () => {
    for (const path of ['/dashboard/nope.js', '/graphql', '/dashboard/../package.json']) {
      expect((await fetch(`${on.base}${path}`)).status).toBe(404);
    }
    expect((await fetch(`${on.base}/`, { method: 'POST' })).status).toBe(404);
  });

  it('signs a short-lived learner token for a demo learner, and refuses anyone else', async () => {
    const res = await demoToken(on.base, JSON.stringify({ learnerId: 'demo-ada' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { learnerId: string; token: string };
    expect(body.learnerId).toBe('demo-ada');
    const viewer = verifyTokenSync(body.token, TEST_SECRET);
    expect(viewer.id).toBe('demo-ada');
    expect([...viewer.roles]).toEqual([]);
    const exp = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(exp * 1000 - Date.now()).toBeLessThanOrEqual(2 * 3600_000 + 1000);
    expect(exp * 1000 - Date.now()).toBeGreaterThan(2 * 3600_000 - 60_000);

    for (const learnerId of ['alice', 'admin', 'demo-', 'demo-Ada', `demo-${'x'.repeat(40)}`, 42]) {
      const refused = await demoToken(on.base, JSON.stringify({ learnerId }));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(/^learnerId must be a demo learner/);
    }
    expect((await demoToken(on.base, 'learnerId=demo-ada', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await demoToken(on.base, '{not json')).status).toBe(400);
    expect((await demoToken(on.base, JSON.stringify({ learnerId: 'demo-ada', pad: 'x'.repeat(2000) }))).status).toBe(413);
  });
});

describe('the dashboard over HTTP, demo sign-in off', () => {
  let off: { server: Server; base: string };
  beforeAll(async () => {
    off = await serve(false);
  });
  afterAll(() => new Promise<void>((resolve) => off.server.close(() => resolve())));

  it('has no demo endpoint, and the page offers the token form only', async () => {
    expect((await demoToken(off.base, JSON.stringify({ learnerId: 'demo-ada' }))).status).toBe(404);
    expect(await (await fetch(`${off.base}/`)).text()).toContain('data-demo-sign-in="false"');
  });
});

/** GET without fetch's automatic decompression. */
async function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { get } = await import('node:http');
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}
