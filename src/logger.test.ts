import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, LogThrottle, redactUrl } from './logger';
import { describeTarget } from './store/redis/client';

describe('logs', () => {
  it('never hold a token, wherever it sits in what is logged', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', 'test', sink);
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbXkifQ.c2lnbmF0dXJl';
    log.info({ authorization: `Bearer ${token}` }, 'top level');
    log.info({ req: { headers: { authorization: `Bearer ${token}` } } }, 'request');
    log.info({ connectionParams: { authorization: `Bearer ${token}` } }, 'socket');
    log.info({ token }, 'bare');
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(token);
      expect(JSON.parse(line)).toHaveProperty('msg');
    }
  });

  it('never hold a store password: URLs are described without it', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/lms')).toBe('postgres://app:***@db:5432/lms');
    expect(describeTarget('redis://:s3cret@cache:6379/0')).not.toContain('s3cret');
    expect(describeTarget('redis://:s3cret@cache:6379/0')).toContain('cache:6379');
    expect(describeTarget({ clusterNodes: ['a:7000', 'b:7001'] })).toBe('cluster(a:7000,b:7001)');
  });
});

describe('LogThrottle', () => {
  it('lets one line per key and interval through, counting the ones left out', () => {
    const t = new LogThrottle(5000, 2);
    expect(t.take('a', 0)).toBe(0);
    expect(t.take('a', 1000)).toBeNull();
    expect(t.take('a', 4999)).toBeNull();
    expect(t.take('b', 4999)).toBe(0);
    expect(t.take('a', 5000)).toBe(2);
    t.clear();
    expect(t.take('a', 5001)).toBe(0);
  });
});
