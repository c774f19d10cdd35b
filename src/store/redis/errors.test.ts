/**
 * Driver errors of every Redis connection become structured log lines, rate-limited per
 * connection and message, never ioredis's "Unhandled error event" traces.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/harness';
import { createLogger } from '../../logger';
import { createRedis, dedicatedConnection, failFastOptions } from './client';
import { watchConnection } from './errors';

const closers: (() => void)[] = [];
afterAll(() => closers.forEach((close) => close()));

function capture() {
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { lines, log: createLogger('info', 'test', sink) };
}

describe('watchConnection', () => {
  it('logs a failing connection (and a dedicated copy of it) as JSON, the same error at most once per interval with a count', async () => {
    const { lines, log } = capture();
    const port = await freePort();
    // Reconnects every 20 ms: about 60 failures in the 1.2 s below.
    const redis = createRedis(`redis://127.0.0.1:${port}`, { retryStrategy: () => 20 });
    watchConnection(redis, log, 'main', 500);
    const copy = dedicatedConnection(redis, {}, 'subscriber');
    closers.push(() => redis.disconnect(), () => copy.disconnect());
    void redis.connect().catch(() => undefined);
    void copy.connect().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1200));

    const errors = lines.filter((l) => l.msg === 'redis connection error');
    const of = (name: string) => errors.filter((l) => l.connection === name);
    // Three windows of 500 ms: at most three lines each, though dozens of errors happened.
    for (const name of ['main', 'main/subscriber']) {
      expect(of(name).length).toBeGreaterThanOrEqual(2);
      expect(of(name).length).toBeLessThanOrEqual(3);
      expect(of(name)[0]).toMatchObject({ level: 40, err: expect.stringMatching(/ECONNREFUSED/), code: 'ECONNREFUSED', repeatsLeftOut: 0 });
      expect(of(name)[1]!.repeatsLeftOut).toBeGreaterThan(5);
    }
  });

  it('says once when the connection is ready again', async () => {
    const { lines, log } = capture();
    const port = await freePort();
    const redis = createRedis(`redis://127.0.0.1:${port}`, { retryStrategy: () => 50 });
    watchConnection(redis, log, 'main', 500);
    closers.push(() => redis.disconnect());
    void redis.connect().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    // Something starts listening on that port and answers the ready check like a Redis would.
    const { spawn } = await import('node:child_process');
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    closers.push(() => server.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('never ready')), 5000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    expect(lines.filter((l) => l.msg === 'redis connection ready again')).toEqual([expect.objectContaining({ connection: 'main', level: 30 })]);
  });
});

describe('dedicatedConnection of a fail-fast client', () => {
  it('has no command timeout unless asked (a BLOCK read may wait longer), while the client it copies fails fast', async () => {
    const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const redis = createRedis(url, failFastOptions({ commandMs: 100, connectMs: 1000 }));
    const blocking = dedicatedConnection(redis, {}, 'blocking');
    const timed = dedicatedConnection(redis, { commandTimeout: 100 }, 'subscriber');
    closers.push(() => redis.disconnect(), () => blocking.disconnect(), () => timed.disconnect());
    await Promise.all([redis.connect(), blocking.connect(), timed.connect()]);
    const stream = `test:errors:${randomUUID()}`;
    const started = Date.now();
    // Nothing is ever added: the read ends by its BLOCK (300 ms), three times the command timeout.
    expect(await blocking.xread('BLOCK', 300, 'STREAMS', stream, '$')).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await expect(timed.xread('BLOCK', 300, 'STREAMS', stream, '$')).rejects.toThrow('Command timed out');
    await expect(redis.xread('BLOCK', 300, 'STREAMS', stream, '$')).rejects.toThrow('Command timed out');
  });
});
