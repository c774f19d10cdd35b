import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../src/config';
import { verifyTokenSync } from '../src/domain/auth/tokens';
import { destroyTestEnv, freePort, newTestEnv, redisEnvOf, TEST_SECRET } from './harness';

// What an operator sees when the server cannot start: one line on stderr naming what was set,
// exit code 1; and what `npm run -s token` prints: the token alone.
const env = newTestEnv();
const ROOT = new URL('..', import.meta.url).pathname;

afterAll(async () => {
  await destroyTestEnv(env);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command in the repository with `vars` over a clean environment (PATH and HOME kept). */
function run(command: string, args: string[], vars: Record<string, string>, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...vars },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The server as `npm start` runs it, without npm's own lines. */
function startServer(vars: Record<string, string>): Promise<Run> {
  return run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    ...redisEnvOf(env),
    REDIS_CLUSTER_NODES: '',
    DATABASE_URL: env.databaseUrl,
    KEY_PREFIX: env.keyPrefix,
    JWT_SECRET: TEST_SECRET,
    DEMO_CATALOG: 'false',
    LOG_LEVEL: 'silent',
    ...vars,
  });
}

function expectOneLine(result: Run, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.code).toBe(1);
}

describe('start-up errors are one line naming what was set', () => {
  it('a port already in use (another server on it)', async () => {
    const port = await freePort();
    const other: Server = createServer();
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
    try {
      const result = await startServer({ PORT: String(port) });
      expectOneLine(result, new RegExp(`^Port ${port} is already in use: stop the other server or set PORT to a free port\\.$`));
    } finally {
      other.close();
    }
  });

  it('a REDIS_URL where nothing listens: its URL, why, and how to start one on that port', async () => {
    const port = await freePort();
    const result = await startServer({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expectOneLine(result, new RegExp(`^Redis is not reachable at redis://127\\.0\\.0\\.1:${port} \\(REDIS_URL\\): nothing listens on 127\\.0\\.0\\.1:${port} \\(connection refused\\)\\. Start one with \`redis-server --daemonize yes --port ${port}\``));
  });

  it('a TLS REDIS_URL with a password: named with the password hidden, no local start hint', async () => {
    const port = await freePort();
    const result = await startServer({ REDIS_URL: `rediss://:hunter2secret@127.0.0.1:${port}/1` });
    expectOneLine(result, new RegExp(`^Redis is not reachable at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/1 \\(REDIS_URL\\): .* over TLS, or point REDIS_URL at another\\.$`));
    expect(result.stderr).not.toContain('hunter2secret');
  });

  it('REDIS_CLUSTER_NODES where nothing listens', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const result = await startServer({ REDIS_CLUSTER_NODES: `127.0.0.1:${a},127.0.0.1:${b}` });
    expectOneLine(result, new RegExp(`^The Redis Cluster at cluster\\(127\\.0\\.0\\.1:${a},127\\.0\\.0\\.1:${b}\\) \\(REDIS_CLUSTER_NODES\\) is not reachable`));
  });

  it('a DATABASE_URL where nothing listens', async () => {
    const port = await freePort();
    const result = await startServer({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/lms` });
    expectOneLine(result, new RegExp(`^PostgreSQL is not reachable at postgres://postgres@127\\.0\\.0\\.1:${port}/lms`));
  });

  it('bad configuration', async () => {
    expectOneLine(await startServer({ PORT: 'abc' }), /^Invalid configuration: PORT: must be a decimal number$/);
    expectOneLine(await startServer({ NODE_ENV: 'production', JWT_SECRET: '' }), /^JWT_SECRET is required when NODE_ENV=production$/);
  });
});

describe('npm run -s token', () => {
  const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

  it('prints the token alone, so TOKEN=$(npm run -s token -- alice@example.com) holds just the token', async () => {
    const result = await run('npm', ['run', '-s', 'token', '--', 'alice@example.com'], { JWT_SECRET: TEST_SECRET });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines, result.stdout).toHaveLength(1);
    expect(lines[0]).toMatch(JWT);
    expect(verifyTokenSync(lines[0]!, TEST_SECRET).id).toBe('alice@example.com');
  });

  it('still works as npm run token (npm adds its banner), signed with the development secret when JWT_SECRET is unset', async () => {
    const result = await run('npm', ['run', 'token', '--', 'bob@example.com', '--admin'], {});
    expect(result.code, result.stderr).toBe(0);
    const token = result.stdout.trim().split('\n').at(-1)!;
    expect(token).toMatch(JWT);
    const viewer = verifyTokenSync(token, DEV_JWT_SECRET);
    expect(viewer.id).toBe('bob@example.com');
    expect([...viewer.roles]).toEqual(['admin']);
  });

  it('says what is wrong with its arguments in one line', async () => {
    const result = await run('npm', ['run', '-s', 'token', '--', 'carol@example.com', '--expires', 'soon'], {});
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'))).toEqual(['"soon" is not a lifetime: write it like 90s, 15m, 12h or 7d.']);
  });
});
