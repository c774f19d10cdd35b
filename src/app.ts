import { EngagementService } from './domain/engagement/service';
import { createYoga, maskError, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from './config';
import { ActivityService } from './domain/activity/service';
import { TokenVerifier } from './domain/auth/tokens';
import { Unavailable } from './domain/errors';
import { BoardService } from './domain/boards/service';
import { BadgeService } from './domain/badges/service';
import { CatalogService } from './domain/catalog/service';
import { demoBadges, demoCourses } from './domain/catalog/demo';
import { EventService } from './domain/events/service';
import { LearnerService } from './domain/learners/service';
import { ActionLimits } from './domain/limits/service';
import { systemClock, type Clock } from './domain/ports';
import { ProgressService } from './domain/progress/service';
import { createLogger, redactUrl, type Logger } from './logger';
import { buildSchema } from './schema';
import type { Context, Services } from './schema/context';
import { useErrorCodes } from './schema/errors';
import { introspectionDisabled, queryLimitPlugins } from './schema/limits';
import { boardProjector, postgresWriter, type ConsumerDeps } from './server/consumers';
import { clientOf, ClientConnections } from './server/connections';
import { contextFactory } from './server/context';
import { attachAccessLog, useAccessLogOperation } from './server/access-log';
import { corsOption } from './server/cors';
import { createHttpServer, type Route } from './server/http';
import { cardRoute } from './server/cards';
import { dashboardRoute } from './server/dashboard';
import { createMetrics } from './server/metrics';
import { graphiqlAssets, graphiqlPage, renderGraphiQL } from './server/graphiql';
import { listen, quiet, StartupError, stopAccepting } from './server/lifecycle';
import { checkRedis, mayEvict, preparePostgres } from './server/startup';
import { healthRoute, readinessCheck } from './server/readiness';
import { attachGraphqlWs, type GraphqlWs } from './server/ws';
import { checkPartitions, DeploymentMismatch } from './store/deployment';
import { unavailableStore } from './store/faults';
import { ActivityStore } from './store/activity';
import { HydratingLearnerStore } from './store/learners';
import { LearnerRepair } from './store/repair';
import { RollbackGuard } from './store/rollback';
import { BoardProjection } from './store/outbox/boards';
import type { OutboxConsumer, ConsumerOptions } from './store/outbox/consumer';
import { DeadLetters } from './store/outbox/deadletters';
import { OutboxGate, OutboxMonitor } from './store/outbox/monitor';
import { GROUPS } from './store/outbox/groups';
import { ActivityRepository } from './store/pg/activity';
import { BoardRepository } from './store/pg/boards';
import { CatalogRepository } from './store/pg/catalog';
import { LearnerRepository } from './store/pg/learners';
import type { Orm } from './store/pg/orm';
import { BoardStore } from './store/redis/boards';
import { createRedis, dedicatedConnection, failFastOptions, redisTargetOf } from './store/redis/client';
import { watchConnection } from './store/redis/errors';
import { Keys } from './store/redis/keys';
import { LearnerHotStore } from './store/redis/learners';
import { Membership } from './store/redis/membership';
import { RedisRateLimits } from './store/redis/rateLimits';
import type { ScriptedClient } from './store/redis/scripts';
import { BoardFeeds } from './subscriptions/feeds';
import { LearnerFeed } from './subscriptions/learnerFeed';
import { RedisPubSub } from './subscriptions/pubsub';
import { useSharedSubscriptionResults } from './subscriptions/shared';

export { StartupError, redactUrl };

/** Largest HTTP body or WebSocket message accepted (a 500-event batch fits comfortably). */
const MAX_BODY_BYTES = 1024 * 1024;

export interface AppOptions {
  clock?: Clock;
  logger?: Logger;
  /** Overrides of the Postgres writer's consumer (tests: hooks, short timings). */
  flusher?: Partial<ConsumerOptions>;
  /** Overrides of the board projection's consumer. */
  projector?: Partial<ConsumerOptions>;
  /** Least time between two leaderboardChanged messages of a board. */
  boardFeedIntervalMs?: number;
  /** Write a partition's outbox before hydrating one of its learners (default: when Redis may evict). */
  flushBeforeHydrate?: boolean;
  /** This instance's name in the membership and consumer groups. */
  instanceName?: string;
}

export interface App {
  config: Config;
  log: Logger;
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  services: Services;
  redis: ScriptedClient;
  orm: Orm;
  keys: Keys;
  membership: Membership;
  /** The Postgres writer (consumer group `flusher`). */
  flusher: OutboxConsumer;
  /** The board projection (consumer group `boards`). */
  projector: OutboxConsumer;
  monitor: OutboxMonitor;
  learnerStore: HydratingLearnerStore;
  /** Learners' hashes in Redis, without hydration (verify, tests). */
  hot: LearnerHotStore;
  boardStore: BoardStore;
  boardRepo: BoardRepository;
  learnerRepo: LearnerRepository;
  /** Rebuilds learners Redis is behind for from Postgres (the write-behind finds them). */
  repair: LearnerRepair;
  /** Keeps changes off a Redis that came back behind Postgres. */
  rollback: RollbackGuard;
  /** The WebSocket server (tests look at its sockets). */
  ws: GraphqlWs;
  /** Listen on `port` (default: config.port; 0 picks a free one). @returns the port */
  start(port?: number): Promise<number>;
  /** Everything written so far is in Postgres and on the boards (tests, rebuilds). */
  settle(waitMs?: number): Promise<void>;
  /** Graceful stop: refuse new work, finish in-flight requests, drain the outbox, close sockets. */
  stop(): Promise<void>;
  /** Die like a killed process: nothing drained or acknowledged, no goodbye to the others (tests). */
  crash(): Promise<void>;
}

/**
 * Wire the service: Redis, Postgres (created and migrated), the outbox consumers (Postgres
 * writer, board projection), pub/sub, the domain services, the GraphQL server over HTTP and
 * WebSocket. Nothing listens or consumes until `start()`.
 * @throws StartupError when Redis or Postgres is missing, or PARTITIONS changed
 */
export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.logger ?? createLogger(config.logLevel, 'lms', undefined, config.logFormat);
  const clock = options.clock ?? systemClock;
  if (config.jwtSecretIsDefault) {
    log.warn(
      { host: config.host },
      `JWT_SECRET is not set: using the development secret. Never do this in production.${config.host === '127.0.0.1' ? ' Listening on this machine only (set JWT_SECRET, or HOST, to listen on others).' : ''}`,
    );
  }

  const target = redisTargetOf(config);
  await checkRedis(target);
  const orm = await preparePostgres(config, log);
  const knex = orm.em.getKnex();

  const redisTimeouts = { commandMs: config.timeouts.redisCommandMs, connectMs: config.timeouts.redisConnectMs };
  const redis = createRedis(target, failFastOptions(redisTimeouts));
  // Driver errors become rate-limited log lines, on this connection and every dedicated one made from it.
  watchConnection(redis, log, 'redis');
  // SUBSCRIBE needs a connection of its own (a cluster's too). SUBSCRIBE answers at once, so it
  // keeps the command timeout: start and stop never hang on a frozen Redis.
  const subscriber = dedicatedConnection(redis, { commandTimeout: redisTimeouts.commandMs }, 'subscriber');
  await Promise.all([redis.connect(), subscriber.connect()]);
  const evicting = await mayEvict(redis, log);

  const keys = new Keys(config.keyPrefix, config.partitions);
  try {
    await checkPartitions(knex, redis, keys);
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    await orm.close();
    if (err instanceof DeploymentMismatch) throw new StartupError(err.message);
    throw err;
  }

  // Every running server heartbeats here (rebuild-cache refuses to run while any does, and
  // trimming is split by it); each consumer group has its own set of the instances running it.
  const membership = new Membership(redis, keys, log.child({ component: 'membership' }), { set: 'servers', ttlMs: config.memberTtlMs, name: options.instanceName });
  const deadLetters = new DeadLetters(redis, keys, knex, log.child({ component: 'dead-letters' }));
  const deps: ConsumerDeps = { redis, keys, deadLetters, log, name: membership.name, config };
  // Learners the write-behind finds Redis to be behind for are rebuilt from Postgres.
  let repair: LearnerRepair | null = null;
  const flusher = postgresWriter(deps, knex, options.flusher, (learners) => repair!.enqueue(learners));
  const boardRepo = new BoardRepository(orm);
  const boardStore = new BoardStore(redis, keys, (id) => boardRepo.entries(id), { periodGraceMs: config.boardPeriodGraceMs });
  const boardProjection = new BoardProjection(boardStore);
  const projector = boardProjector(deps, (entries) => boardProjection.handle(entries), options.projector);
  const monitor = new OutboxMonitor(redis, keys, membership, Object.values(GROUPS), log.child({ component: 'outbox' }), {
    intervalMs: 1000,
    warnEntries: config.outbox.warnEntries,
    maxEntries: config.outbox.maxEntries,
  });

  const hot = new LearnerHotStore(redis, keys, { eventRecordTtlMs: config.eventRecordTtlMs, goalBonusXp: config.goalBonusXp, boardPeriodGraceMs: config.boardPeriodGraceMs });
  const learnerRepo = new LearnerRepository(orm, { boardPeriodGraceMs: config.boardPeriodGraceMs, clock });
  repair = new LearnerRepair({
    keys,
    hot,
    repo: learnerRepo,
    boards: boardStore,
    flushPartition: (p) => flusher.flushPartition(p),
    log: log.child({ component: 'repair' }),
  });
  // Changes wait, after any reconnect, until Redis is known not to be behind Postgres.
  const rollback = new RollbackGuard({
    redis,
    keys,
    knex,
    boards: boardStore,
    flushPartition: (p) => flusher.flushPartition(p),
    log: log.child({ component: 'rollback' }),
    name: membership.name,
    watchMs: config.rollbackWatchMs,
  });
  redis.on('close', () => rollback.suspect());
  redis.on('node error', () => rollback.suspect());
  redis.on('ready', () => void rollback.check().catch((err) => log.warn({ err: (err as Error).message }, 'Redis rollback check failed; retried on the next change')));
  const learnerStore = new HydratingLearnerStore(
    hot,
    learnerRepo,
    (options.flushBeforeHydrate ?? evicting) ? (learnerId) => flusher.flushPartition(keys.partitionOf(learnerId)) : null,
    {
      strangerTtlMs: config.learnerLookups.unknownCacheMs,
      beforeWrite: () => rollback.ready(),
      flushLearner: (learnerId) => flusher.flushPartition(keys.partitionOf(learnerId)),
    },
  );

  const pubsub = new RedisPubSub(redis, subscriber, keys, log.child({ component: 'pubsub' }));
  // Every learner script publishes its partition: the doorbell of both consumers.
  pubsub.on('learner', (m) => {
    projector.doorbell(m.partition);
    flusher.doorbell(m.partition);
  });
  const catalog = new CatalogService(new CatalogRepository(orm), pubsub);
  // Taken before an action applies (a refused one changes nothing); a Redis outage fails the
  // action (UNAVAILABLE, logged by the error translator), never lets it through unlimited.
  const actionLimits = new ActionLimits(new RedisRateLimits(redis, keys), config.rateLimits, clock);
  const events = new EventService({ store: learnerStore, catalog, clock, gate: new OutboxGate(monitor), limits: actionLimits });
  const services: Services = {
    catalog,
    events,
    boards: new BoardService(boardStore, clock),
    limits: actionLimits,
    learners: new LearnerService(learnerStore, { clock, lookupsPerMinute: config.learnerLookups.perMinute }),
    activity: new ActivityService(new ActivityStore(new ActivityRepository(orm), (learnerId) => flusher.flushPartition(keys.partitionOf(learnerId)))),
    progress: new ProgressService({ events, learners: learnerStore, catalog }),
    engagement: new EngagementService({ events, learners: learnerStore, clock }),
    badges: new BadgeService({ learners: learnerStore, catalog, clock }),
    feeds: {
      learner: new LearnerFeed(pubsub, log.child({ component: 'feeds' })),
      boards: new BoardFeeds(pubsub, boardStore, log.child({ component: 'feeds' }), { minIntervalMs: options.boardFeedIntervalMs ?? 250 }),
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

  // Read at scrape time; `ws` is attached below, before anything can scrape.
  let ws!: GraphqlWs;
  const metrics = config.metrics.enabled
    ? createMetrics({ get ws() { return ws; }, monitor, consumers: [flusher, projector], learnerStore }, { token: config.metrics.token, log: log.child({ component: 'metrics' }) })
    : null;
  const tokens = new TokenVerifier(config.jwtSecret, { audience: config.jwtAudience, issuer: config.jwtIssuer });
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/health',
    landingPage: false,
    // The body cap is enforced before yoga (server/body-limit.ts) for every way a body is sent;
    // yoga's own limiter would pipe every body through a stream (a fifth of a small request's CPU).
    maxRequestBodySize: false,
    cors: corsOption(config.cors),
    // Served from this server (offline); off in production unless GRAPHIQL=true.
    graphiql: graphiqlPage(config),
    renderGraphiQL,
    // What yoga masks itself (an error outside execution: a parser or validation failure the
    // code did not expect) is logged too, never only hidden behind "Unexpected error.".
    maskedErrors: {
      maskError(error, message, isDev) {
        const masked = maskError(error, message, isDev);
        if (masked !== error) log.error({ err: error }, 'unexpected error outside execution (masked)');
        return masked;
      },
    },
    logging: {
      debug: (...a: unknown[]) => log.debug({ yoga: a }),
      info: (...a: unknown[]) => log.info({ yoga: a }),
      warn: (...a: unknown[]) => log.warn({ yoga: a }),
      // Yoga reports every error of a result here, expected ones too; unexpected errors are
      // logged with their request id by useErrorCodes, so these stay at debug.
      error: (...a: unknown[]) => log.debug({ yoga: a }),
    },
    context: contextFactory(tokens, services, learnerStore),
    plugins: [
      useErrorCodes(log, (err) => {
        const store = unavailableStore(err);
        return store === null
          ? null
          : new Unavailable(`The service cannot reach ${store === 'redis' ? 'its Redis' : 'its database'} right now. Retry in a little while (with the same eventId, a retry never applies a change twice).`, `${store.toUpperCase()}_UNAVAILABLE`);
      }),
      // Subscribers of one event share its result, per viewer only where a field depends on who asks.
      useSharedSubscriptionResults({ viewerFields: ['Leaderboard.me', 'Leaderboard.aroundMe'] }),
      ...queryLimitPlugins(config.limits),
      ...(config.introspection ? [] : [introspectionDisabled]),
      useAccessLogOperation(),
      // Last: it counts errors by the codes the plugins above gave them.
      ...(metrics ? [metrics.plugin] : []),
    ],
  });

  // WebSockets and event streams count against one bound per client.
  const limits = config.subscriptions;
  const connections = new ClientConnections(limits.maxConnectionsPerClient);
  // Pages and endpoints besides GraphQL, looked at in order before it.
  const routes: Route[] = [healthRoute];
  if (metrics) routes.push(metrics.route);
  routes.push(cardRoute({ services, reads: learnerStore, publicUrl: config.publicUrl, log: log.child({ component: 'cards' }) }));
  routes.push(dashboardRoute({ demoSignIn: config.demoSignIn, jwtSecret: config.jwtSecret, jwtAudience: config.jwtAudience, jwtIssuer: config.jwtIssuer, log: log.child({ component: 'dashboard' }) }));
  if (config.graphiql) routes.push(graphiqlAssets());
  const http = createHttpServer((req, res) => void yoga.handle(req, res), {
    maxBodyBytes: MAX_BODY_BYTES,
    routes,
    readiness: readinessCheck(monitor, knex, config.outbox.readyMaxLagMs, config.timeouts.pgQueryMs, {
      repairs: () => repair.stats,
      rollback: () => rollback.state(),
    }, config.outbox.readyMaxDeadLetters),
    streams: {
      connections,
      maxConnectionsPerClient: limits.maxConnectionsPerClient,
      clientOf: (req) => clientOf(req.headers.authorization, req, tokens),
      maxBufferedBytes: limits.slowConsumerBytes,
      maxStallMs: limits.slowConsumerMs,
      log: log.child({ component: 'http' }),
    },
  });
  attachAccessLog(http.server, log.child({ component: 'access' }));
  metrics?.watchRequests(http.server);
  ws = attachGraphqlWs(http.server, yoga, tokens, {
    maxPayload: MAX_BODY_BYTES,
    maxSubscriptions: limits.maxPerConnection,
    connections,
    maxConnectionsPerClient: limits.maxConnectionsPerClient,
    maxBufferedBytes: limits.slowConsumerBytes,
    log: log.child({ component: 'ws' }),
  });

  let started = false;
  let stopping: Promise<void> | null = null;
  const consumers = () => [...(config.flusher.enabled ? [flusher] : []), ...(config.projector ? [projector] : [])];

  const closeConnections = async () => {
    await pubsub.stop();
    subscriber.disconnect();
    await redis.quit().catch(() => redis.disconnect());
    await orm.close();
  };

  const app: App = {
    config,
    log,
    yoga,
    services,
    redis,
    orm,
    keys,
    membership,
    flusher,
    projector,
    monitor,
    learnerStore,
    hot,
    boardStore,
    boardRepo,
    learnerRepo,
    repair,
    rollback,
    ws,
    async start(port = config.port) {
      // Join first, then look for a rebuild: rebuild-cache takes its lock first, then looks for
      // servers, so one of the two always sees the other.
      await membership.start();
      const rebuilding = await redis.get(keys.rebuilding());
      if (rebuilding) {
        await membership.stop();
        throw new StartupError(`rebuild-cache is running (${rebuilding}); start the server when it has finished.`);
      }
      // Both groups exist even where this instance runs neither, so their backlog shows in /ready.
      await Promise.all([flusher.ensureGroups(), projector.ensureGroups()]);
      await rollback.check();
      rollback.watch();
      await Promise.all(consumers().map((c) => c.start()));
      await monitor.start();
      const actual = await listen(http.server, port, config.host);
      started = true;
      log.info({ port: actual, dashboard: `http://localhost:${actual}/`, graphiql: config.graphiql ? `http://localhost:${actual}/graphql` : undefined }, 'listening');
      return actual;
    },
    async settle(waitMs) {
      await projector.settle(waitMs);
      await flusher.settle(waitMs);
    },
    stop() {
      stopping ??= (async () => {
        log.info('stopping: refusing new connections');
        http.drain();
        if (started) stopAccepting(http.server);
        await quiet(http.inFlight, 250, 10_000);
        http.server.closeIdleConnections();
        log.info('stopping: in-flight requests done; draining the outbox');
        monitor.stop();
        rollback.unwatch();
        // Boards first (fast), then Postgres: everything answered is written before exit.
        await projector.stop({ drain: true }).catch((err) => log.error({ err }, 'board drain failed; entries stay in the outbox'));
        await flusher.stop({ drain: true }).catch((err) => log.error({ err }, 'outbox drain failed; entries stay in Redis'));
        await repair.idle();
        await membership.stop();
        await ws.close(1001, 'Server shutting down');
        http.server.closeAllConnections();
        await closeConnections();
        log.info('stopped');
      })();
      return stopping;
    },
    crash() {
      stopping ??= (async () => {
        flusher.kill();
        projector.kill();
        membership.kill();
        monitor.stop();
        stopAccepting(http.server);
        http.server.closeAllConnections();
        await ws.close(1006, 'crashed').catch(() => undefined);
        await pubsub.stop().catch(() => undefined);
        subscriber.disconnect();
        redis.disconnect();
        await orm.close();
      })();
      return stopping;
    },
  };
  return app;
}
