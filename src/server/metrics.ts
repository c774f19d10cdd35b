import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createCounter, createHistogram, usePrometheus, type PrometheusTracingPluginConfig } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../logger';
import type { OutboxConsumer } from '../store/outbox/consumer';
import type { OutboxMonitor } from '../store/outbox/monitor';
import type { Route } from './http';
import type { GraphqlWs } from './ws';

/** What the gauges and counters read when Prometheus scrapes (nothing is counted by hand twice). */
export interface MetricsSources {
  ws: GraphqlWs;
  monitor: OutboxMonitor;
  /** The outbox consumers of this instance (the Postgres writer, the board projection). */
  consumers: OutboxConsumer[];
  /** Hydrations of learners from Postgres into Redis (HydratingLearnerStore). */
  learnerStore: { hydrations: number };
}

export interface Metrics {
  /** This instance's registry (never prom-client's global one: tests run several apps in one process). */
  registry: Registry;
  /** Request latency and errors by operation, through graphql-yoga's Prometheus plugin. */
  plugin: Plugin;
  /** GET /metrics in the Prometheus text format; a bearer token when `token` is set. */
  route: Route;
  /** Count this server's HTTP responses by status, and the event streams (SSE subscriptions, incremental delivery) it holds open. */
  watchRequests(server: Server): void;
}

/** Operation names a client chooses: the first `max` seen get their own label value, the rest share `other`. */
export function boundedLabel(max: number): (value: string | undefined) => string {
  const seen = new Set<string>();
  return (value) => {
    if (!value) return 'anonymous';
    if (seen.has(value)) return value;
    if (seen.size >= max || value.length > 100) return 'other';
    seen.add(value);
    return value;
  };
}

/**
 * Label sets a metric labelled by operation name may hold. The operation name is bounded, but
 * it multiplies with the type, method and status, which clients choose too: past this many
 * sets, a new one gets operation name `other` (a few sets at most), so a client cannot make a
 * scrape megabytes long.
 */
export const MAX_OPERATION_LABEL_SETS = 500;

/** `labels` as they are while fewer than `max` sets are known, else with operationName `other`. */
export function boundedLabelSets(max = MAX_OPERATION_LABEL_SETS): <L extends { operationName: string }>(labels: L) => L {
  const seen = new Set<string>();
  return <L extends { operationName: string }>(labels: L): L => {
    const key = JSON.stringify(labels);
    if (seen.has(key)) return labels;
    if (seen.size >= max) return { ...labels, operationName: 'other' };
    seen.add(key);
    return labels;
  };
}

/** The code of an error a result carries (extensions.code), or what its phase implies. */
function codeOf(error: unknown, phase: string | undefined): string {
  const code = (error as { extensions?: { code?: unknown } } | undefined)?.extensions?.code;
  if (typeof code === 'string' && code.length <= 64) return code;
  if (phase === 'parse') return 'GRAPHQL_PARSE_FAILED';
  if (phase === 'validate') return 'GRAPHQL_VALIDATION_FAILED';
  return 'UNKNOWN';
}

/**
 * Prometheus metrics of one app instance: GraphQL request latency, errors by code, HTTP
 * duration (graphql-yoga's plugin, labelled by operation name, bounded), and gauges and
 * counters that read the service's own state at scrape time: WebSocket connections, active
 * subscriptions, the outbox (entries, backlog and oldest entry per consumer group, dead
 * letters), entries each consumer handled (the Postgres writer's is the flush rate), and
 * hydrations. Process metrics (CPU, memory, event loop lag) come with it.
 */
export function createMetrics(sources: MetricsSources, options: { token: string | null; log: Logger }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const opName = boundedLabel(200);

  const labelsOf = (params: { operationName?: string; operationType?: string }) => ({
    operationName: opName(params.operationName),
    operationType: params.operationType ?? 'unknown',
  });
  const metrics: PrometheusTracingPluginConfig['metrics'] = {
    // Queries and mutations; a subscription's "duration" would be its lifetime.
    graphql_envelop_request_duration: createHistogram({
      registry,
      histogram: {
        name: 'graphql_envelop_request_duration',
        help: 'Time to execute a GraphQL query or mutation (seconds), by operation',
        labelNames: ['operationName', 'operationType'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      },
      fillLabelsFn: ((bound) => (params: { operationName?: string; operationType?: string }) => bound(labelsOf(params)))(boundedLabelSets()),
      phases: ['execute'],
    }),
    graphql_envelop_error_result: createCounter({
      registry,
      counter: { name: 'graphql_envelop_error_result', help: 'Errors in GraphQL results, by code (extensions.code), phase and operation', labelNames: ['code', 'phase', 'operationName', 'operationType'] },
      fillLabelsFn: ((bound) => (params: { error?: unknown; errorPhase?: string; operationName?: string; operationType?: string }) =>
        bound({
          code: codeOf(params.error, params.errorPhase),
          phase: params.errorPhase ?? 'subscribe',
          ...labelsOf(params),
        }))(boundedLabelSets()),
    }),
    graphql_yoga_http_duration: createHistogram({
      registry,
      histogram: {
        name: 'graphql_yoga_http_duration',
        help: 'Time of a GraphQL request over HTTP, from its arrival to its response (seconds), by operation and status',
        labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      },
      fillLabelsFn: ((bound) => (params: { operationName?: string; operationType?: string; request: Request; response: Response }) =>
        bound({
          ...labelsOf(params),
          method: params.request.method,
          statusCode: params.response.status,
        }))(boundedLabelSets()),
    }),
    // The request counter (the histogram's _count per operation says as much), the parse,
    // validate and context phases, the per-resolver timings and the summary cost
    // time on every request and tell little the two histograms above do not.
    graphql_envelop_request: false,
    graphql_envelop_phase_parse: false,
    graphql_envelop_phase_validate: false,
    graphql_envelop_phase_context: false,
    graphql_envelop_phase_execute: false,
    graphql_envelop_phase_subscribe: false,
    graphql_envelop_request_time_summary: false,
    graphql_envelop_deprecated_field: false,
    graphql_envelop_execute_resolver: false,
    graphql_envelop_schema_change: false,
  };
  const plugin = usePrometheus({ registry, endpoint: false, metrics }) as Plugin;

  new Gauge({
    name: 'lms_websocket_connections',
    help: 'Open WebSocket connections (graphql-ws)',
    registers: [registry],
    collect() {
      this.set(sources.ws.wss.clients.size);
    },
  });
  let openStreams = 0;
  new Gauge({
    name: 'lms_subscriptions_active',
    help: 'Running subscriptions: operations on WebSockets, and open event streams (SSE subscriptions, incremental delivery)',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.set({ transport: 'ws' }, (sources.ws as { activeSubscriptions?: () => number }).activeSubscriptions?.() ?? 0);
      this.set({ transport: 'sse' }, openStreams);
    },
  });

  const health = () => sources.monitor.latest();
  new Gauge({
    name: 'lms_redis_up',
    help: 'Whether the last outbox check reached Redis (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(health().redisUp ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lms_outbox_entries',
    help: 'Entries in the outbox streams (acknowledged ones wait for a trim)',
    registers: [registry],
    collect() {
      this.set(health().entries);
    },
  });
  new Gauge({
    name: 'lms_outbox_backlog',
    help: 'Outbox entries a consumer group has not acknowledged yet (flusher: the Postgres writer; boards: the board projection)',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      for (const [group, g] of Object.entries(health().groups)) this.set({ group }, g.backlog);
    },
  });
  new Gauge({
    name: 'lms_outbox_oldest_age_seconds',
    help: "Age of a consumer group's oldest unacknowledged outbox entry (the write-behind lag for group flusher)",
    labelNames: ['group'],
    registers: [registry],
    collect() {
      for (const [group, g] of Object.entries(health().groups)) this.set({ group }, g.oldestAgeMs / 1000);
    },
  });
  new Gauge({
    name: 'lms_outbox_dead_letters',
    help: 'Outbox entries dead-lettered (in Redis), all instances',
    registers: [registry],
    collect() {
      this.set(health().deadLetters);
    },
  });
  cumulative(registry, 'lms_outbox_handled_entries_total', 'Outbox entries this instance handled, by consumer group (rate() of group flusher is the flush rate to Postgres)', () =>
    sources.consumers.map((c) => [{ group: c.group }, c.stats.entries]),
  );
  cumulative(registry, 'lms_outbox_dead_lettered_total', 'Outbox entries this instance moved to the dead letters, by consumer group', () =>
    sources.consumers.map((c) => [{ group: c.group }, c.stats.deadLettered]),
  );
  cumulative(registry, 'lms_hydrations_total', 'Learners loaded from Postgres into Redis on this instance', () => [[{}, sources.learnerStore.hydrations]]);

  const responses = new Counter({
    name: 'lms_http_responses_total',
    help: 'HTTP responses by status code, every path (GraphQL, /ready, /metrics, pages; 413 and 429 answered before GraphQL too)',
    labelNames: ['status'],
    registers: [registry],
  });

  // Digests compared, not the strings: equal lengths whatever was sent, so the time taken
  // tells nothing of the token, its length included.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = options.token ? digest(`Bearer ${options.token}`) : null;
  const authorized = (req: IncomingMessage) => expected === null || timingSafeEqual(digest(req.headers.authorization ?? ''), expected);
  const route: Route = (req, res) => {
    if (!isMetricsPath(req.url)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      answer(res, 405, 'text/plain', 'GET /metrics\n', { allow: 'GET, HEAD' });
    } else if (!authorized(req)) {
      answer(res, 401, 'text/plain', 'Send Authorization: Bearer <METRICS_TOKEN>.\n', { 'www-authenticate': 'Bearer' });
    } else {
      registry.metrics().then(
        (text) => answer(res, 200, registry.contentType, req.method === 'HEAD' ? '' : text),
        (err) => {
          options.log.error({ err }, 'metrics collection failed');
          answer(res, 500, 'text/plain', 'Metrics collection failed; see the server log.\n');
        },
      );
    }
    return true;
  };

  return {
    registry,
    plugin,
    route,
    watchRequests(server) {
      server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
        res.once('close', () => responses.inc({ status: res.statusCode }));
        const accept = req.headers.accept;
        if (!accept || !(accept.includes('text/event-stream') || accept.includes('multipart/mixed'))) return;
        openStreams += 1;
        res.once('close', () => {
          openStreams -= 1;
        });
      });
    },
  };
}

function isMetricsPath(url: string | undefined): boolean {
  return url === '/metrics' || url?.startsWith('/metrics?') === true;
}

function answer(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

/**
 * A counter that follows a number the service already keeps (a consumer's stats, the hydration
 * count): at each scrape it adds what the number grew by since the last one.
 */
function cumulative(registry: Registry, name: string, help: string, read: () => [Record<string, string>, number][]): void {
  const last = new Map<string, number>();
  const labelNames = [...new Set(read().flatMap(([labels]) => Object.keys(labels)))];
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const grew = value - (last.get(key) ?? 0);
        last.set(key, value);
        this.inc(labels, Math.max(0, grew));
      }
    },
  });
}
