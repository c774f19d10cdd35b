import { describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET, loadConfig } from './config';

describe('config', () => {
  it('has defaults that work on a developer machine', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/lms',
      keyPrefix: 'lms:',
      jwtSecret: DEV_JWT_SECRET,
      jwtSecretIsDefault: true,
      jwtAudience: undefined,
      jwtIssuer: undefined,
      redisClusterNodes: null,
    });
  });

  it('listens on this machine only while tokens are signed with the published development secret', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ JWT_SECRET: '' }).host).toBe('127.0.0.1');
    expect(loadConfig({ JWT_SECRET: 'x'.repeat(40) }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '::', JWT_SECRET: 'x'.repeat(40) }).host).toBe('::');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-0123456789-abcdefghij' }).host).toBe('0.0.0.0');
  });

  it('reads JWT_AUDIENCE and JWT_ISSUER, an empty one as unset', () => {
    expect(loadConfig({ JWT_AUDIENCE: 'lms-progress', JWT_ISSUER: 'https://id.example.com' })).toMatchObject({
      jwtAudience: 'lms-progress',
      jwtIssuer: 'https://id.example.com',
    });
    const empty = loadConfig({ JWT_AUDIENCE: '', JWT_ISSUER: '' });
    expect(empty.jwtAudience).toBeUndefined();
    expect(empty.jwtIssuer).toBeUndefined();
  });

  it('takes REDIS_CLUSTER_NODES as a list of host:port, and refuses anything else', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7101, 127.0.0.1:7102,redis-2.internal:6379,[::1]:7103,' }).redisClusterNodes).toEqual([
      '127.0.0.1:7101',
      '127.0.0.1:7102',
      'redis-2.internal:6379',
      '[::1]:7103',
    ]);
    expect(loadConfig({ REDIS_CLUSTER_NODES: '' }).redisClusterNodes).toBeNull();
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'h:65536', 'redis://h:6379', ' , ', 'a:1 b:2']) {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/^Invalid configuration: REDIS_CLUSTER_NODES: REDIS_CLUSTER_NODES must be a comma-separated list of host:port/);
    }
  });

  it('honours PORT, REDIS_URL, DATABASE_URL, JWT_SECRET and KEY_PREFIX', () => {
    const c = loadConfig({
      PORT: '4100',
      REDIS_URL: 'redis://10.0.0.2:6380',
      DATABASE_URL: 'postgres://app@db:5432/other',
      JWT_SECRET: 'x'.repeat(40),
      KEY_PREFIX: 'tenant-b:',
    });
    expect(c).toMatchObject({ port: 4100, redisUrl: 'redis://10.0.0.2:6380', databaseUrl: 'postgres://app@db:5432/other', jwtSecret: 'x'.repeat(40), jwtSecretIsDefault: false, keyPrefix: 'tenant-b:' });
  });

  it('has store timeouts that fail a request within about two seconds, each configurable and bounded', () => {
    expect(loadConfig({}).timeouts).toEqual({ redisCommandMs: 1000, redisConnectMs: 2000, pgQueryMs: 2000, pgConnectMs: 2000 });
    expect(
      loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '250', REDIS_CONNECT_TIMEOUT_MS: '500', PG_QUERY_TIMEOUT_MS: '3000', PG_CONNECT_TIMEOUT_MS: '750' }).timeouts,
    ).toEqual({ redisCommandMs: 250, redisConnectMs: 500, pgQueryMs: 3000, pgConnectMs: 750 });
    expect(() => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '0' })).toThrow(/REDIS_COMMAND_TIMEOUT_MS/);
    expect(() => loadConfig({ PG_QUERY_TIMEOUT_MS: 'soon' })).toThrow(/PG_QUERY_TIMEOUT_MS/);
  });

  it('refuses bad values in one readable line, and production without a secret', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^Invalid configuration: PORT: /);
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32 characters/);
    expect(() => loadConfig({ KEY_PREFIX: 'a{b}' })).toThrow(/KEY_PREFIX/);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET is required/);
    // docker-compose passes an empty JWT_SECRET when none is set: the development secret, or
    // no start at all in production.
    expect(loadConfig({ JWT_SECRET: '' })).toMatchObject({ jwtSecret: DEV_JWT_SECRET, jwtSecretIsDefault: true });
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: '' })).toThrow(/JWT_SECRET is required/);
  });

  it('has per-learner rate limits on learner actions, each settable, 0 for unlimited, and a switch to turn them off', () => {
    expect(loadConfig({}).rateLimits).toEqual({
      enabled: true,
      perMinute: { enroll: 120, completeLesson: 120, recordWatchTime: 120, submitQuizAttempt: 120, recordEvents: 1000, updateProfile: 10, setDailyGoal: 30 },
      serviceFactor: 20,
    });
    const set = loadConfig({ RATE_LIMITS: 'false', RATE_LIMIT_COMPLETE_LESSON: '0', RATE_LIMIT_RECORD_EVENTS: '5000', RATE_LIMIT_SERVICE_FACTOR: '0' }).rateLimits;
    expect(set).toMatchObject({ enabled: false, perMinute: { completeLesson: 0, recordEvents: 5000 }, serviceFactor: 0 });
    expect(() => loadConfig({ RATE_LIMIT_ENROLL: '-1' })).toThrow(/^Invalid configuration: RATE_LIMIT_ENROLL: must be a whole number of actions a minute \(0: unlimited\)$/);
    expect(() => loadConfig({ RATE_LIMIT_ENROLL: '1.5' })).toThrow(/^Invalid configuration: RATE_LIMIT_ENROLL: /);
    expect(() => loadConfig({ RATE_LIMIT_RECORD_EVENTS: 'lots' })).toThrow(/^Invalid configuration: RATE_LIMIT_RECORD_EVENTS: must be a decimal number$/);
    expect(() => loadConfig({ RATE_LIMITS: 'maybe' })).toThrow(/^Invalid configuration: RATE_LIMITS: /);
  });

  it('refuses a published secret in production only', () => {
    for (const published of [DEV_JWT_SECRET, 'change-me-to-a-long-random-secret-0123456789']) {
      expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: published })).toThrow(
        /^JWT_SECRET is a published example secret: set one of your own when NODE_ENV=production$/,
      );
      expect(loadConfig({ NODE_ENV: 'development', JWT_SECRET: published }).jwtSecret).toBe(published);
    }
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).jwtSecret).toBe('x'.repeat(40));
  });

  it('serves demo sign-in in development only, unless told; never in production', () => {
    expect(loadConfig({}).demoSignIn).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).demoSignIn).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).demoSignIn).toBe(false);
    expect(loadConfig({ DEMO_SIGN_IN: 'false' }).demoSignIn).toBe(false);
    expect(loadConfig({ NODE_ENV: 'test', DEMO_SIGN_IN: 'true' }).demoSignIn).toBe(true);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40), DEMO_SIGN_IN: 'true' })).toThrow(/^DEMO_SIGN_IN=true lets anyone sign in/);
    expect(() => loadConfig({ DEMO_SIGN_IN: 'sure' })).toThrow(/^Invalid configuration: DEMO_SIGN_IN: /);
  });

  it('reads numbers in decimal only: hex, exponents and words are refused by name', () => {
    expect(() => loadConfig({ UNKNOWN_LEARNER_CACHE_MS: '0x10' })).toThrow(/^Invalid configuration: UNKNOWN_LEARNER_CACHE_MS: must be a decimal number$/);
    expect(() => loadConfig({ PORT: '1e3' })).toThrow(/^Invalid configuration: PORT: must be a decimal number$/);
    expect(() => loadConfig({ PORT: 'abc', MEMBER_TTL_MS: '5' })).toThrow(/^Invalid configuration: PORT: must be a decimal number; MEMBER_TTL_MS: /);
    expect(loadConfig({ MEMBER_TTL_MS: ' 5000 ', ROLLBACK_WATCH_MS: '0' })).toMatchObject({ memberTtlMs: 5000, rollbackWatchMs: 0 });
  });

  it('allows CORS from localhost pages in development and from no other origin in production, unless CORS_ORIGINS says', () => {
    expect(loadConfig({}).cors).toEqual({ any: false, localhost: true, origins: [] });
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) }).cors).toEqual({ any: false, localhost: false, origins: [] });
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/,localhost' }).cors).toEqual({
      any: false,
      localhost: true,
      origins: ['https://app.example.com', 'http://localhost:5173'],
    });
    expect(loadConfig({ CORS_ORIGINS: '*' }).cors.any).toBe(true);
    expect(loadConfig({ CORS_ORIGINS: 'none' }).cors).toEqual({ any: false, localhost: false, origins: [] });
    for (const bad of ['app.example.com', 'https://app.example.com/graphql', 'ftp://x.example', 'https://a.example?x=1']) {
      expect(() => loadConfig({ CORS_ORIGINS: bad }), bad).toThrow(/^Invalid configuration: CORS_ORIGINS: CORS_ORIGINS must be a comma-separated list of origins/);
    }
  });

  it('serves metrics unless METRICS=false, behind METRICS_TOKEN when it is set', () => {
    expect(loadConfig({}).metrics).toEqual({ enabled: true, token: null });
    expect(loadConfig({ METRICS: 'false', METRICS_TOKEN: 't'.repeat(16) }).metrics).toEqual({ enabled: false, token: 't'.repeat(16) });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 characters/);
    expect(() => loadConfig({ METRICS: 'maybe' })).toThrow(/METRICS/);
  });

  it('logs JSON lines unless LOG_FORMAT=pretty or development on a terminal', () => {
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'test' }).logFormat).toBe('json');
    expect(loadConfig({ NODE_ENV: 'development' }).logFormat).toBe(process.stdout.isTTY ? 'pretty' : 'json');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT/);
  });

  it('ignores dead letters for readiness unless READY_MAX_DEAD_LETTERS is set', () => {
    expect(loadConfig({}).outbox.readyMaxDeadLetters).toBe(0);
    expect(loadConfig({ READY_MAX_DEAD_LETTERS: '10' }).outbox.readyMaxDeadLetters).toBe(10);
    expect(() => loadConfig({ READY_MAX_DEAD_LETTERS: '-1' })).toThrow(/READY_MAX_DEAD_LETTERS/);
  });

  it('serves GraphiQL and answers introspection in development and test, neither in production, unless told', () => {
    const prod = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) };
    expect(loadConfig({})).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ NODE_ENV: 'test' })).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig(prod)).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ ...prod, GRAPHIQL: 'true', INTROSPECTION: '1' })).toMatchObject({ graphiql: true, introspection: true });
    expect(loadConfig({ GRAPHIQL: 'false', INTROSPECTION: 'no' })).toMatchObject({ graphiql: false, introspection: false });
    expect(loadConfig({ GRAPHIQL: '' })).toMatchObject({ graphiql: true });
    expect(() => loadConfig({ INTROSPECTION: 'off' })).toThrow(/^Invalid configuration: INTROSPECTION: /);
  });
  it('reads PUBLIC_URL as an http(s) origin without its trailing slash', () => {
    expect(loadConfig({}).publicUrl).toBeNull();
    expect(loadConfig({ PUBLIC_URL: 'https://learn.example.com/' }).publicUrl).toBe('https://learn.example.com');
    expect(() => loadConfig({ PUBLIC_URL: 'javascript:alert(1)' })).toThrow(/PUBLIC_URL/);
  });
});
