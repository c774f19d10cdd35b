import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { Redis } from 'ioredis';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { Config } from './config';
import { bearerToken, verifyToken } from './domain/auth/tokens';
import type { Viewer } from './domain/auth/viewer';
import { BadgeService } from './domain/badges/service';
import { BoardService } from './domain/boards/service';
import { CatalogService } from './domain/catalog/service';
import { demoBadges, demoCourses } from './domain/catalog/demo';
import { DomainError } from './domain/errors';
import { LearnerService } from './domain/learners/service';
import type { LearnerState } from './domain/learners/state';
import { systemClock, type Clock } from './domain/ports';
import { ProgressService } from './domain/progress/service';
import { createLogger, type Logger } from './logger';
import { buildSchema } from './schema';
import type { Context, Services } from './schema/context';
import { useErrorCodes } from './schema/errors';
import { limitRequestBody } from './server/body-limit';
import { HydratingLearnerStore } from './store/learners';
import { CatalogRepository } from './store/pg/catalog';
import { BoardRepository } from './store/pg/boards';
import { Flusher, type FlusherOptions } from './store/pg/flusher';
import { LearnerRepository } from './store/pg/learners';
import { createDatabaseIfMissing, migrate, openOrm, type Orm } from './store/pg/orm';
import { BoardStore } from './store/redis/boards';
import { createRedis } from './store/redis/client';
import { Keys } from './store/redis/keys';
import { LearnerHotStore } from './store/redis/learners';
import type { ScriptedRedis } from './store/redis/scripts';
import { BoardFeeds, LearnerFeed } from './subscriptions/feeds';
import { RedisPubSub } from './subscriptions/pubsub';

/** Largest HTTP body or WebSocket message accepted (a 500-event batch fits comfortably). */
const MAX_BODY_BYTES = 1024 * 1024;

/** A dependency the service cannot start without; `message` is the one line to print. */
export class StartupError extends Error {}

/** A URL fit for logs: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  /** Test hooks and overrides for the flusher. */
  flusher?: Partial<FlusherOptions>;
  /** Least time between two leaderboardChanged messages of a board. */
  boardFeedIntervalMs?: number;
  /** Write a partition's outbox before hydrating one of its learners (default: when Redis may evict). */
  flushBeforeHydrate?: boolean;
}

export interface App {
  config: Config;
  log: Logger;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  services: Services;
  redis: ScriptedRedis;
  orm: Orm;
  keys: Keys;
  flusher: Flusher;
  learnerStore: HydratingLearnerStore;
  boardStore: BoardStore;
  boardRepo: BoardRepository;
  learnerRepo: LearnerRepository;
  /** Listen on `port` (default: config.port; 0 picks a free one). @returns the port */
  start(port?: number): Promise<number>;
  /** Graceful stop: refuse new work, finish in-flight requests, drain the outbox, close sockets. */
  stop(): Promise<void>;
}

async function checkRedis(url: string): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new StartupError(
      `Redis is not reachable at ${redactUrl(url)} (${(err as Error).message}). Start it with ` +
        '`redis-server --daemonize yes --port 6379` (or `docker compose up -d redis`), or point REDIS_URL at one.',
    );
  } finally {
    probe.disconnect();
  }
}

async function preparePostgres(url: string, log: Logger): Promise<Orm> {
  try {
    if (await createDatabaseIfMissing(url)) log.info({ database: redactUrl(url) }, 'created database');
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || /connect|timeout/i.test(e.message)) {
      throw new StartupError(
        `PostgreSQL is not reachable at ${redactUrl(url)} (${e.message}). Start it with ` +
          '`pg_ctlcluster <version> main start` (or `docker compose up -d postgres`), or point DATABASE_URL at one.',
      );
    }
    throw new StartupError(`PostgreSQL refused to prepare the database at ${redactUrl(url)}: ${e.message}`);
  }
  const orm = await openOrm(url, { log: (message) => log.debug({ orm: message }) });
  const applied = await migrate(orm);
  if (applied.length) log.info({ applied }, 'applied migrations');
  return orm;
}

/** Resolve once `count()` has stayed at 0 for `forMs`, or after `maxMs` whatever it is. */
async function quiet(count: () => number, forMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let since = Date.now();
  while (Date.now() < deadline) {
    if (count() > 0) since = Date.now();
    else if (Date.now() - since >= forMs) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The token of a request or WebSocket connection, verified. @throws Unauthenticated */
async function viewerOf(header: unknown, config: Config): Promise<Viewer | null> {
  const token = bearerToken(typeof header === 'string' ? header : null);
  return token ? verifyToken(token, config.jwtSecret, { audience: config.jwtAudience, issuer: config.jwtIssuer }) : null;
}

/**
 * Wire the service: Redis, Postgres (created and migrated), the flusher, pub/sub, the domain
 * services, the GraphQL server over HTTP and WebSocket. Nothing listens until `start()`.
 * @throws StartupError when Redis or Postgres is missing
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  if (config.jwtSecretIsDefault) {
    log.warn('JWT_SECRET is not set: using the development secret. Never do this in production.');
  }

  await checkRedis(config.redisUrl);
  const orm = await preparePostgres(config.databaseUrl, log);

  const redis = createRedis(config.redisUrl);
  const subscriber = createRedis(config.redisUrl, { enableAutoPipelining: false });
  for (const [name, conn] of [['redis', redis], ['redis-subscriber', subscriber]] as const) {
    conn.on('error', (err: Error) => log.warn({ err: err.message, connection: name }, 'redis connection error'));
  }
  await Promise.all([redis.connect(), subscriber.connect()]);
  let evicting = true;
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    evicting = policy !== 'noeviction';
    if (evicting) log.warn({ policy }, 'Redis maxmemory-policy is not noeviction: evicted outbox entries would be lost');
  } catch {
    // Managed Redis often disables CONFIG: assume it may evict.
  }

  const keys = new Keys(config.keyPrefix, config.partitions);
  const knex = orm.em.getKnex();
  const flusher = new Flusher(redis, keys, knex, log.child({ component: 'flusher' }), {
    batchSize: config.flusher.batchSize,
    intervalMs: config.flusher.intervalMs,
    claimIdleMs: config.flusher.claimIdleMs,
    ...options.flusher,
  });
  await flusher.ensureGroups();

  const hot = new LearnerHotStore(redis, keys);
  const boardRepo = new BoardRepository(orm);
  const boardStore = new BoardStore(redis, keys, (id) => boardRepo.entries(id));
  const learnerRepo = new LearnerRepository(orm);
  const learnerStore = new HydratingLearnerStore(
    hot,
    learnerRepo,
    keys,
    (options.flushBeforeHydrate ?? evicting) ? (stream) => flusher.flushPartition(stream) : null,
  );

  const pubsub = new RedisPubSub(redis, subscriber, keys, log.child({ component: 'pubsub' }));
  const catalog = new CatalogService(new CatalogRepository(orm), pubsub);
  const boards = new BoardService(boardStore);
  const badges = new BadgeService(learnerStore);
  const services: Services = {
    catalog,
    boards,
    badges,
    learners: new LearnerService(learnerStore),
    progress: new ProgressService({ learners: learnerStore, boards, badges, catalog, publisher: pubsub, clock, log }),
    feeds: {
      learner: new LearnerFeed(pubsub),
      boards: new BoardFeeds(pubsub, boardStore, log.child({ component: 'feeds' }), {
        minIntervalMs: options.boardFeedIntervalMs ?? 250,
      }),
    },
    clock,
  };

  pubsub.on('catalog', () => {
    catalog.reload().catch((err) => log.error({ err }, 'catalog reload failed'));
  });
  await pubsub.start();
  // A reconnect may have missed invalidations; reload to be safe.
  subscriber.on('ready', () => void catalog.reload().catch(() => undefined));
  await catalog.reload();
  if (config.demoCatalog && (await catalog.seedIfEmpty(demoCourses, demoBadges))) {
    log.info({ courses: demoCourses.length, badges: demoBadges.length }, 'loaded the demo catalog');
  }

  const makeLoaders = (cache: boolean) => ({
    learner: new DataLoader<string, LearnerState | null>((ids) => services.learners.findMany(ids), {
      cache,
      maxBatchSize: 200,
    }),
  });

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    graphiql: {
      title: 'Learning progress API',
      subscriptionsProtocol: 'WS',
      defaultQuery: DEFAULT_QUERY,
      headers: JSON.stringify({ Authorization: 'Bearer <paste the output of: npm run token -- alice@example.com>' }, null, 2),
    },
    logging: {
      debug: (...a: unknown[]) => log.debug({ yoga: a }),
      info: (...a: unknown[]) => log.info({ yoga: a }),
      warn: (...a: unknown[]) => log.warn({ yoga: a }),
      // Yoga reports every error of a result here, expected ones too; unexpected errors are
      // logged with their request id by useErrorCodes, so these stay at debug.
      error: (...a: unknown[]) => log.debug({ yoga: a }),
    },
    context: async (initial): Promise<Context> => {
      const params = (initial as { connectionParams?: Record<string, unknown> }).connectionParams;
      const upgrade = (initial as { upgradeRequest?: IncomingMessage }).upgradeRequest;
      const header = params
        ? (params.authorization ?? params.Authorization ?? upgrade?.headers.authorization)
        : (initial.request.headers.get('authorization') ?? undefined);
      let viewer: Viewer | null;
      try {
        viewer = await viewerOf(header, config);
      } catch (err) {
        if (err instanceof DomainError) {
          throw new GraphQLError(err.message, { extensions: { code: err.code, http: { status: 401 } } });
        }
        throw err;
      }
      const requestId = (!params && initial.request.headers.get('x-request-id')?.slice(0, 100)) || randomUUID();
      return { viewer, services, loaders: makeLoaders(!params), requestId };
    },
    plugins: [
      useErrorCodes(log),
      maxDepthPlugin({ n: config.limits.maxDepth, exposeLimits: true }),
      costLimitPlugin({ maxCost: config.limits.maxCost, exposeLimits: true }),
      maxAliasesPlugin({ n: 30, exposeLimits: true }),
      maxTokensPlugin({ n: 5000, exposeLimits: true }),
    ],
  });

  const handle = limitRequestBody(MAX_BODY_BYTES, (req, res) => void yoga.handle(req, res));
  // In-flight HTTP requests, so a stop can wait for them.
  let inFlight = 0;
  let draining = false;
  const server: Server = createServer((req, res) => {
    inFlight += 1;
    // While stopping, answer what arrives on open connections but tell clients to go away.
    if (draining) res.setHeader('connection', 'close');
    res.on('close', () => {
      inFlight -= 1;
    });
    handle(req, res);
  });
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: MAX_BODY_BYTES });
  const wsServer = useServer<Record<string, unknown>>(
    {
      onConnect: async (ctx) => {
        try {
          const params = ctx.connectionParams ?? {};
          await viewerOf(params.authorization ?? params.Authorization ?? ctx.extra.request.headers.authorization, config);
          return true;
        } catch (err) {
          // 4401: the client should get a new token rather than retry as is.
          ctx.extra.socket.close(4401, err instanceof DomainError ? err.message : 'Unauthorized');
          return false;
        }
      },
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams: ctx.connectionParams ?? {},
          upgradeRequest: ctx.extra.request,
        });
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [err as GraphQLError];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors;
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Could not start the subscription.')];
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );

  let started = false;
  let stopping: Promise<void> | null = null;

  const app: App = {
    config,
    log,
    yoga,
    services,
    redis,
    orm,
    keys,
    flusher,
    learnerStore,
    boardStore,
    boardRepo,
    learnerRepo,
    async start(port = config.port) {
      if (config.flusher.enabled) await flusher.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) =>
          reject(
            err.code === 'EADDRINUSE'
              ? new StartupError(`Port ${port} is already in use: stop the other server or set PORT to a free port.`)
              : err,
          ),
        );
        server.listen(port, config.host, () => resolve());
      });
      started = true;
      const actual = (server.address() as AddressInfo).port;
      log.info({ port: actual, graphiql: `http://localhost:${actual}/graphql` }, 'listening');
      return actual;
    },
    stop() {
      stopping ??= (async () => {
        log.info('stopping: refusing new connections');
        draining = true;
        // Stop accepting, but keep open connections: a request already sent on one is served.
        // (http.Server#close would also drop connections whose request is not parsed yet.)
        if (started) net.Server.prototype.close.call(server);
        await quiet(() => inFlight, 250, 10_000);
        server.closeIdleConnections();
        log.info('stopping: in-flight requests done; draining the outbox');
        await flusher.stop({ drain: true }).catch((err) => log.error({ err }, 'outbox drain failed; entries stay in Redis'));
        for (const client of wss.clients) client.close(1001, 'Server shutting down');
        await wsServer.dispose();
        await new Promise<void>((r) => wss.close(() => r()));
        server.closeAllConnections();
        await pubsub.stop();
        subscriber.disconnect();
        await redis.quit().catch(() => redis.disconnect());
        await orm.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
  return app;
}

const DEFAULT_QUERY = `# Paste a token into the headers below (npm run token -- alice@example.com), then try:
query Catalog {
  courses { id title lessonCount totalXp modules { title lessons { id title kind xpReward } } }
  levels { level minXp }
}

# mutation Enroll { enroll(courseId: "ts-foundations") { id enrolledAt } }
# mutation Complete { completeLesson(lessonId: "ts-1-1") { xpAwarded totalXp level leveledUp badgesUnlocked { badge { name } } } }
# query Me { me { totalXp level { level progress nextLevelXp } rank { rank score } enrollments { course { title } xpEarned progress { percentage } } } }
# subscription Live { achievementUnlocked { badge { name } awardedAt } }
`;
