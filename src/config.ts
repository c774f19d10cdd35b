import { z } from 'zod';

/** The development JWT secret; refused when NODE_ENV=production. */
export const DEV_JWT_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

/** Secrets this repository has published (the development one, docker-compose's old default): anyone can sign with them. */
const PUBLISHED_JWT_SECRETS: readonly string[] = [DEV_JWT_SECRET, 'change-me-to-a-long-random-secret-0123456789'];

/** `host:port` or `[ipv6]:port`. */
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\],]+):(?:[1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

/** Whether `value` is a bare http(s) origin: scheme, host and optional port, nothing else. */
function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/** Which browser origins may call the API (CORS): any, loopback ones, and an exact list. */
export interface CorsOrigins {
  any: boolean;
  localhost: boolean;
  origins: string[];
}

function corsOriginsOf(entries: string[]): CorsOrigins {
  return {
    any: entries.includes('*'),
    localhost: entries.includes('localhost'),
    origins: entries.filter((o) => !['*', 'localhost', 'none'].includes(o)).map((o) => new URL(o).origin),
  };
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Actions per learner and minute: a whole number, 0 for unlimited. */
const perMinute = (fallback: number) =>
  z.coerce
    .number()
    .int('must be a whole number of actions a minute (0: unlimited)')
    .min(0, 'must be a whole number of actions a minute (0: unlimited)')
    .max(1_000_000, 'must be at most 1000000 a minute (0: unlimited)')
    .default(fallback);

/** The environment the service reads at start-up. Every field has a developer default. */
export const configSchema = z
  .object({
    /** production | development | test */
    NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
    /** HTTP and WebSocket port (GraphQL at /graphql on both). */
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    /**
     * Interface to listen on. Default: `0.0.0.0` (every interface); `127.0.0.1` (this machine
     * only) while JWT_SECRET is unset, as anyone who can reach the server could sign tokens,
     * admin ones too, with the development secret, which is published in this repository.
     */
    HOST: z.string().optional(),
    /** Redis holding all hot state. */
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    /**
     * Seed nodes of a Redis Cluster, comma-separated `host:port` (e.g.
     * `10.0.0.1:6379,10.0.0.2:6379`). When set, the service uses the cluster and ignores
     * REDIS_URL; one reachable node is enough, the others are found with CLUSTER SLOTS.
     */
    REDIS_CLUSTER_NODES: z
      .string()
      .transform((value, ctx) => {
        const nodes = value
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean);
        const bad = nodes.filter((n) => !HOST_PORT.test(n));
        if (nodes.length === 0 || bad.length > 0) {
          ctx.addIssue({
            code: 'custom',
            message: `REDIS_CLUSTER_NODES must be a comma-separated list of host:port${bad.length ? ` (not host:port: ${bad.join(', ')})` : ''}`,
          });
          return z.NEVER;
        }
        return [...new Set(nodes)];
      })
      .optional(),
    /** PostgreSQL database holding the durable record; created if missing. */
    DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/lms'),
    /** HS256 secret for bearer tokens (at least 32 characters). */
    JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters').optional(),
    /** When set, a token's `aud` (a string or an array) must hold this value. */
    JWT_AUDIENCE: z.string().optional(),
    /** When set, a token's `iss` must equal this value. */
    JWT_ISSUER: z.string().optional(),
    /** Prefix of every Redis key and channel, so several servers and test runs can share a Redis. */
    KEY_PREFIX: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9:_\-.]+$/, 'KEY_PREFIX may hold letters, digits and : _ - . only')
      .default('lms:'),
    /** Number of learner partitions (hash tags); fixed for the life of a deployment. */
    PARTITIONS: z.coerce.number().int().min(1).max(16384).default(64),
    /** Run the outbox flusher inside this process. */
    FLUSHER: bool.default(true),
    /** How long the flusher blocks waiting for new outbox entries. */
    FLUSH_INTERVAL_MS: z.coerce.number().int().min(5).max(60_000).default(100),
    /** Outbox entries per Postgres transaction. */
    FLUSH_BATCH: z.coerce.number().int().min(1).max(10_000).default(1000),
    /** A pending entry a live but stuck flusher has held this long is claimed by another. */
    FLUSH_CLAIM_IDLE_MS: z.coerce.number().int().min(10).default(30_000),
    /** Tries at an outbox entry that fails on its own before it goes to the dead letters. */
    FLUSH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
    /** Run the board projection (leaderboards follow the outbox) inside this process. */
    PROJECTOR: bool.default(true),
    /** How often every owned outbox partition is read whatever the doorbells said, and claims are checked. */
    OUTBOX_SWEEP_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
    /** Outbox entries at which a warning is logged. */
    OUTBOX_WARN_ENTRIES: z.coerce.number().int().min(1).default(500_000),
    /** Outbox entries at which new changes are refused (UNAVAILABLE, retryable) instead of exhausting Redis's memory. */
    OUTBOX_MAX_ENTRIES: z.coerce.number().int().min(1).default(2_000_000),
    /** `/ready` answers 503 when the oldest unwritten outbox entry is older than this. */
    READY_MAX_LAG_MS: z.coerce.number().int().min(100).default(30_000),
    /** A server instance that misses heartbeats this long is gone; the others take over its outbox work. */
    MEMBER_TTL_MS: z.coerce.number().int().min(100).max(600_000).default(3000),
    /**
     * How often every Redis master is asked for its run_id, so a master replaced without the
     * connection dropping (a cluster failover) is checked for being behind Postgres; 0: never.
     */
    ROLLBACK_WATCH_MS: z.coerce.number().int().min(0).max(600_000).default(5000),
    /** Days a caller's event id is remembered in Redis (for ever in Postgres's event log). */
    EVENT_RECORD_DAYS: z.coerce.number().min(0.0001).max(3650).default(30),
    /** Longest a Postgres statement of the write-behind may run. */
    PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    /**
     * Longest a Redis command may wait for its reply (sent, or queued while reconnecting)
     * before it fails and the request answers UNAVAILABLE. Not applied to the SUBSCRIBE and
     * blocking-read connections.
     */
    REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
    /** Longest a TCP connect to Redis may take before it is retried. */
    REDIS_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
    /**
     * Longest a request's Postgres statement may run (the server's `statement_timeout`); the
     * client gives up 500 ms later if the server does not answer at all (frozen, cut off).
     */
    PG_QUERY_TIMEOUT_MS: z.coerce.number().int().min(50).max(600_000).default(2000),
    /** Longest opening a Postgres connection, or waiting for a free one in the pool, may take. */
    PG_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
    /**
     * How long a finished DAILY, WEEKLY or MONTHLY board still takes late events (an event's XP
     * counts in the period of its occurredAt while the period is open at its recordedAt); then
     * the period is frozen. At most 7 days.
     */
    BOARD_PERIOD_GRACE_MS: z.coerce.number().int().min(0).max(7 * 86_400_000).default(86_400_000),
    /** Load the demo catalog when the catalog is empty. */
    DEMO_CATALOG: bool.default(true),
    /**
     * Serve `POST /demo/token`: one click on the dashboard signs in as a demo learner (ids
     * `demo-…`, learner role, 2 h). Default: true when NODE_ENV=development, false otherwise;
     * refused when NODE_ENV=production (anyone could sign in).
     */
    DEMO_SIGN_IN: bool.optional(),
    /**
     * The address users reach this server at (e.g. `https://learn.example.com`), for links the
     * server writes itself (a certificate card's verify link). Unset: taken from the request's
     * Host header.
     */
    PUBLIC_URL: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'PUBLIC_URL must be an http:// or https:// URL')
      .transform((u) => u.replace(/\/+$/, ''))
      .optional(),
    /** XP a completed daily goal pays (once per learner, goal kind and day); 0: none. */
    GOAL_BONUS_XP: z.coerce.number().int().min(0).max(100_000).default(20),
    /** Serve GraphiQL at GET /graphql (default: on in development and test, off in production). */
    GRAPHIQL: bool.optional(),
    /** Answer introspection queries (__schema, __type) (default: on in development and test, off in production). */
    INTROSPECTION: bool.optional(),
    /** pino level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /**
     * `pretty` (coloured lines, pino-pretty) or `json` (one JSON object a line). Default:
     * pretty in development when stdout is a terminal, json otherwise (always json in production).
     */
    LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
    /** Serve Prometheus metrics at /metrics. */
    METRICS: bool.default(true),
    /** When set, /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`. */
    METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
    /**
     * Browser origins allowed to call /graphql from another origin (CORS), comma-separated
     * (`https://app.example.com,https://admin.example.com`); `localhost` allows any
     * http(s)://localhost, 127.0.0.1 or [::1] origin on any port; `*` any origin; `none` none.
     * Default: `localhost` in development and test, `none` (same-origin only) in production.
     */
    CORS_ORIGINS: z
      .string()
      .transform((value, ctx) => {
        const entries = value
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
        const bad = entries.filter((o) => !['*', 'localhost', 'none'].includes(o) && !isOrigin(o));
        if (bad.length > 0) {
          ctx.addIssue({ code: 'custom', message: `CORS_ORIGINS must be a comma-separated list of origins like https://app.example.com (or localhost, *, none); not an origin: ${bad.join(', ')}` });
          return z.NEVER;
        }
        return entries;
      })
      .optional(),
    /** `/ready` answers 503 when this many outbox entries or more are dead-lettered; 0: dead letters never make it unready (they are shown all the same). */
    READY_MAX_DEAD_LETTERS: z.coerce.number().int().min(0).default(0),
    /** Deepest selection a query may have. */
    MAX_QUERY_DEPTH: z.coerce.number().int().min(2).max(100).default(12),
    /** Highest cost (graphql-armor cost-limit) a query may have. */
    MAX_QUERY_COST: z.coerce.number().int().min(100).default(5000),
    /** `learner(id)` lookups per client (token subject, else address) and minute that may ask Postgres (ids Redis does not hold). */
    LEARNER_LOOKUPS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(60),
    /** Per-learner rate limits on learner actions (false: none at all, e.g. for benchmarks). */
    RATE_LIMITS: bool.default(true),
    /** enroll calls per learner and minute (their own calls; service callers: times RATE_LIMIT_SERVICE_FACTOR); 0: unlimited. */
    RATE_LIMIT_ENROLL: perMinute(120),
    /** completeLesson calls per learner and minute; 0: unlimited. */
    RATE_LIMIT_COMPLETE_LESSON: perMinute(120),
    /** recordWatchTime calls per learner and minute; 0: unlimited. */
    RATE_LIMIT_RECORD_WATCH_TIME: perMinute(120),
    /** submitQuizAttempt calls per learner and minute; 0: unlimited. */
    RATE_LIMIT_SUBMIT_QUIZ_ATTEMPT: perMinute(120),
    /** recordEvents events (not calls) per learner and minute; 0: unlimited. */
    RATE_LIMIT_RECORD_EVENTS: perMinute(1000),
    /** updateProfile calls per learner and minute (each zone change is kept in a bounded history); 0: unlimited. */
    RATE_LIMIT_UPDATE_PROFILE: perMinute(10),
    /** setDailyGoal calls per learner and minute; 0: unlimited. */
    RATE_LIMIT_SET_DAILY_GOAL: perMinute(30),
    /** A service or admin caller's budget per learner is this many times a learner's own; 0: unlimited. */
    RATE_LIMIT_SERVICE_FACTOR: z.coerce.number().int().min(0).max(10_000).default(20),
    /** How long reads believe "Postgres does not know this learner" before asking again. */
    UNKNOWN_LEARNER_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
    /** Operations one WebSocket connection may run at once; one more gets TOO_MANY_SUBSCRIPTIONS (the connection stays). */
    MAX_SUBSCRIPTIONS_PER_CONNECTION: z.coerce.number().int().min(1).max(100_000).default(100),
    /** WebSocket connections plus event streams one client (token subject, else remote address) may hold on one instance. */
    MAX_CONNECTIONS_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(20),
    /** Unsent bytes a WebSocket or event stream may queue before it is cut off as a slow consumer. */
    SLOW_CONSUMER_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
    /** An event stream whose client has not read for this long (writes waiting) is ended as a slow consumer. */
    SLOW_CONSUMER_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  })
  .transform((env) => {
    if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
      throw new Error('JWT_SECRET is required when NODE_ENV=production');
    }
    if (env.NODE_ENV === 'production' && PUBLISHED_JWT_SECRETS.includes(env.JWT_SECRET!)) {
      throw new Error('JWT_SECRET is a published example secret: set one of your own when NODE_ENV=production');
    }
    if (env.NODE_ENV === 'production' && env.DEMO_SIGN_IN) {
      throw new Error('DEMO_SIGN_IN=true lets anyone sign in as a demo learner: it is refused when NODE_ENV=production');
    }
    return {
      env: env.NODE_ENV,
      port: env.PORT,
      host: env.HOST ?? (env.JWT_SECRET ? '0.0.0.0' : '127.0.0.1'),
      redisUrl: env.REDIS_URL,
      /** Cluster seed nodes, or null for the single Redis at `redisUrl`. */
      redisClusterNodes: env.REDIS_CLUSTER_NODES ?? null,
      databaseUrl: env.DATABASE_URL,
      jwtSecret: env.JWT_SECRET ?? DEV_JWT_SECRET,
      jwtSecretIsDefault: !env.JWT_SECRET,
      jwtAudience: env.JWT_AUDIENCE,
      jwtIssuer: env.JWT_ISSUER,
      keyPrefix: env.KEY_PREFIX,
      partitions: env.PARTITIONS,
      flusher: {
        enabled: env.FLUSHER,
        intervalMs: env.FLUSH_INTERVAL_MS,
        batchSize: env.FLUSH_BATCH,
        claimIdleMs: env.FLUSH_CLAIM_IDLE_MS,
        maxAttempts: env.FLUSH_MAX_ATTEMPTS,
        statementTimeoutMs: env.PG_STATEMENT_TIMEOUT_MS,
      },
      projector: env.PROJECTOR,
      outbox: {
        sweepMs: env.OUTBOX_SWEEP_MS,
        warnEntries: env.OUTBOX_WARN_ENTRIES,
        maxEntries: env.OUTBOX_MAX_ENTRIES,
        readyMaxLagMs: env.READY_MAX_LAG_MS,
        readyMaxDeadLetters: env.READY_MAX_DEAD_LETTERS,
      },
      memberTtlMs: env.MEMBER_TTL_MS,
      rollbackWatchMs: env.ROLLBACK_WATCH_MS,
      /** How long a request waits on a store before it answers UNAVAILABLE. */
      timeouts: {
        redisCommandMs: env.REDIS_COMMAND_TIMEOUT_MS,
        redisConnectMs: env.REDIS_CONNECT_TIMEOUT_MS,
        pgQueryMs: env.PG_QUERY_TIMEOUT_MS,
        pgConnectMs: env.PG_CONNECT_TIMEOUT_MS,
      },
      eventRecordTtlMs: Math.round(env.EVENT_RECORD_DAYS * 86_400_000),
      goalBonusXp: env.GOAL_BONUS_XP,
      /** Late events still count in a finished period this long after it ends. */
      boardPeriodGraceMs: env.BOARD_PERIOD_GRACE_MS,
      demoCatalog: env.DEMO_CATALOG,
      /** Whether POST /demo/token signs in demo learners (the dashboard's one-click sign-in). */
      demoSignIn: env.DEMO_SIGN_IN ?? env.NODE_ENV === 'development',
      /** Where users reach the server, without a trailing slash; null: from each request's Host. */
      publicUrl: env.PUBLIC_URL ?? null,
      /** GraphiQL at GET /graphql. */
      graphiql: env.GRAPHIQL ?? env.NODE_ENV !== 'production',
      /** Introspection queries answered (off: refused with INTROSPECTION_DISABLED). */
      introspection: env.INTROSPECTION ?? env.NODE_ENV !== 'production',
      logLevel: env.LOG_LEVEL,
      logFormat: env.LOG_FORMAT ?? (env.NODE_ENV === 'development' && process.stdout.isTTY ? 'pretty' : 'json'),
      metrics: { enabled: env.METRICS, token: env.METRICS_TOKEN ?? null },
      cors: corsOriginsOf(env.CORS_ORIGINS ?? [env.NODE_ENV === 'production' ? 'none' : 'localhost']),
      limits: { maxDepth: env.MAX_QUERY_DEPTH, maxCost: env.MAX_QUERY_COST },
      rateLimits: {
        enabled: env.RATE_LIMITS,
        perMinute: {
          enroll: env.RATE_LIMIT_ENROLL,
          completeLesson: env.RATE_LIMIT_COMPLETE_LESSON,
          recordWatchTime: env.RATE_LIMIT_RECORD_WATCH_TIME,
          submitQuizAttempt: env.RATE_LIMIT_SUBMIT_QUIZ_ATTEMPT,
          recordEvents: env.RATE_LIMIT_RECORD_EVENTS,
          updateProfile: env.RATE_LIMIT_UPDATE_PROFILE,
          setDailyGoal: env.RATE_LIMIT_SET_DAILY_GOAL,
        },
        serviceFactor: env.RATE_LIMIT_SERVICE_FACTOR,
      },
      learnerLookups: { perMinute: env.LEARNER_LOOKUPS_PER_MINUTE, unknownCacheMs: env.UNKNOWN_LEARNER_CACHE_MS },
      subscriptions: {
        maxPerConnection: env.MAX_SUBSCRIPTIONS_PER_CONNECTION,
        maxConnectionsPerClient: env.MAX_CONNECTIONS_PER_CLIENT,
        slowConsumerBytes: env.SLOW_CONSUMER_BYTES,
        slowConsumerMs: env.SLOW_CONSUMER_MS,
      },
    };
  });

export type Config = z.output<typeof configSchema>;

/**
 * Build the config from an environment.
 * @throws Error with one readable line per invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked = Object.fromEntries(
    Object.keys(configSchema.in.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  // Numbers are written in decimal: coercion alone would read "0x10" as 16 and "1e3" as 1000.
  const notDecimal = Object.entries(picked)
    .filter(([k, v]) => typeof v === 'string' && isNumberField(configSchema.in.shape[k as keyof typeof configSchema.in.shape]) && !/^\s*-?\d+(\.\d+)?\s*$/.test(v))
    .map(([k]) => k);
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success || notDecimal.length) {
    const issues = parsed.success ? [] : parsed.error.issues.filter((i) => !notDecimal.includes(String(i.path[0])));
    const lines = [...notDecimal.map((k) => `${k}: must be a decimal number`), ...issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`)];
    throw new Error(`Invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** Whether a config field holds a number (under its default or optional wrapper). */
function isNumberField(schema: unknown): boolean {
  let def = (schema as { def?: { type?: string; innerType?: unknown } } | undefined)?.def;
  while (def && (def.type === 'default' || def.type === 'optional')) def = (def.innerType as { def?: typeof def } | undefined)?.def;
  return def?.type === 'number';
}
