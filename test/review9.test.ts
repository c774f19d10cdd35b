import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_OPERATION_LABEL_SETS } from '../src/server/metrics';
import { destroyTestEnv, eventually, freePort, newTestEnv, redisAnswers, startTestApp } from './harness';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lms-review9-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}
const children: ChildProcess[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A process that starts the development services as `npm start` does (before the server handles signals), then idles. */
function startServicesProcess(dataDir: string, redisUrl: string, redisServer?: string): { child: ChildProcess; out: () => string } {
  const script = join(dataDir, 'start.mts');
  writeFileSync(
    script,
    [
      `import { startDevServices } from ${JSON.stringify(resolve('src/server/devServices.ts'))};`,
      `const s = await startDevServices({ postgresUrl: null, redisUrl: ${JSON.stringify(redisUrl)}, dataDir: ${JSON.stringify(dataDir)}, log: (m) => console.log(m), readyTimeoutMs: 30000${redisServer ? `, redisServer: ${JSON.stringify(redisServer)}` : ''} });`,
      `console.log('started ' + s.started.join(','));`,
      'setInterval(() => undefined, 1000);',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return { child, out: () => out };
}

describe('development services and signals', () => {
  for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) {
    it(`stops the Redis it started when the process gets ${signal} and has no handler of its own`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const { child, out } = startServicesProcess(dir, `redis://127.0.0.1:${port}`);
      await eventually(() => out().includes('started redis'), 20_000, `services started: ${out()}`);
      expect(await redisAnswers(port)).toBe(true);
      const exited = new Promise((r) => child.once('exit', (code, sig) => r(sig ?? code)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      await eventually(async () => !(await redisAnswers(port)), 10_000, 'the Redis to stop');
    }, 40_000);
  }

  it('stops a service still starting when Ctrl-C comes before it answers', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'fake.pid');
    const fake = join(dir, 'fake-redis-server');
    // Never answers: the start waits for it until the signal.
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`);
    chmodSync(fake, 0o755);
    const { child, out } = startServicesProcess(dir, `redis://127.0.0.1:${await freePort()}`, fake);
    const pid = await eventually(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || null : null), 20_000, `the service to spawn: ${out()}`);
    pids.push(pid);
    expect(alive(pid)).toBe(true);
    child.kill('SIGINT');
    await eventually(() => !alive(pid), 10_000, 'the starting service to stop');
  }, 40_000);
});

describe('/metrics under clients that choose their operation names', () => {
  it('keeps each metric labelled by operation to a bounded number of label sets, however names, types, methods and statuses combine', async () => {
    const env = newTestEnv();
    const t = await startTestApp(env);
    try {
      const url = t.url;
      const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      // A name a real client uses, seen first: it keeps its own label.
      await fetch(url, json({ query: 'query RealDashboard { __typename }' })).then((r) => r.text());
      const requests: [string, RequestInit][] = [];
      for (let i = 0; i < 220; i += 1) {
        const q = `query Op${i} { __typename }`;
        requests.push([`${url}?query=${encodeURIComponent(q)}`, { method: 'GET' }]);
        requests.push([url, json({ query: q })]);
        requests.push([url, json({ query: `query Op${i} { nope }` })]);
        requests.push([url, json({ query: `mutation Op${i} { nope }` })]);
        requests.push([`${url}?query=${encodeURIComponent(`mutation Op${i} { nope }`)}`, { method: 'GET' }]);
        requests.push([url, json({ query: q }, { accept: 'application/xml' })]);
      }
      for (let i = 0; i < requests.length; i += 50) await Promise.all(requests.slice(i, i + 50).map(([u, init]) => fetch(u, init).then((r) => r.text())));
      await fetch(url, json({ query: 'query RealDashboard { __typename }' })).then((r) => r.text());
      const text = await (await fetch(`http://127.0.0.1:${t.port}/metrics`)).text();
      const sets = (name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`)).length;
      // Label sets that share `other`: a few per type, method, status (and code, phase).
      const slack = 60;
      for (const name of ['graphql_yoga_http_duration_count', 'graphql_envelop_request_duration_count', 'graphql_envelop_error_result']) {
        expect(sets(name), name).toBeGreaterThan(50);
        expect(sets(name), name).toBeLessThanOrEqual(MAX_OPERATION_LABEL_SETS + slack);
      }
      expect(text).toMatch(/^graphql_yoga_http_duration_count\{operationName="RealDashboard",operationType="query",method="POST",statusCode="200"\} 2$/m);
      expect(text).toMatch(/operationName="other"/);
    } finally {
      await t.stop();
      await destroyTestEnv(env);
    }
  }, 60_000);
});

describe('npm start after an edit', () => {
  it('builds again when a source was saved while the last build ran, or when dist/main.js is gone', async () => {
    const { build, staleReason } = (await import(pathToFileURL(resolve('scripts/build.mjs')).href)) as {
      build: (o: { outDir: string; check: boolean }) => Promise<number>;
      staleReason: (root: string, outDir: string) => string | null;
    };
    const outDir = join(tempDir(), 'dist');
    const source = resolve('src/dashboard/style.css');
    const { atime, mtime } = statSync(source);
    const before = Date.now();
    await build({ outDir, check: false });
    const after = Date.now();
    expect(after - before).toBeGreaterThan(200);
    try {
      expect(staleReason(resolve('.'), outDir)).toBeNull();
      // Saved halfway through the build: what dist/ holds may be the file before the save.
      const during = new Date((before + after) / 2);
      utimesSync(source, during, during);
      expect(staleReason(resolve('.'), outDir)).toBe('src/dashboard/style.css changed since the last build');
      utimesSync(source, atime, mtime);
      // A dist/ with its stamp but without its entry point is built again, not run.
      expect(staleReason(resolve('.'), outDir)).toBeNull();
      rmSync(join(outDir, 'main.js'));
      expect(staleReason(resolve('.'), outDir)).toMatch(/main\.js is missing$/);
    } finally {
      utimesSync(source, atime, mtime);
    }
  }, 120_000);
});
