import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger';
import { limitRequestBody, type RequestHandler } from './body-limit';
import { tooManyConnectionsMessage, type ClientConnections } from './connections';

/**
 * A page or endpoint the server answers besides GraphQL (the dashboard, the SVG cards,
 * /metrics): it answers and returns true, or returns false to let the next one look.
 */
export type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The answer to GET /ready: 200 when the service can take traffic, 503 otherwise, with why. */
export interface Readiness {
  ready: boolean;
  body: Record<string, unknown>;
}

export interface HttpServer {
  server: Server;
  /** Requests received and not yet answered. */
  inFlight(): number;
  /** From now on, answer what arrives on open connections but tell clients to go away. */
  drain(): void;
}

/** Bounds of streamed responses (GraphQL over server-sent events, incremental delivery). */
export interface StreamLimits {
  /** Connections per client, shared with the WebSocket server. */
  connections: ClientConnections;
  maxConnectionsPerClient: number;
  /** Who a request belongs to (see clientOf). */
  clientOf(req: IncomingMessage): string;
  /** A stream whose unsent bytes pass this is ended as a slow consumer. */
  maxBufferedBytes: number;
  /** A stream whose writes have waited this long for the client to read is ended as a slow consumer. */
  maxStallMs: number;
  log: Logger;
}

/** A request that yoga answers with a stream: subscriptions over SSE, or `@defer`/`@stream` parts. */
function wantsStream(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && (accept.includes('text/event-stream') || accept.includes('multipart/mixed'));
}

/**
 * The HTTP server: GraphQL (yoga) behind a body cap that cannot be bypassed, `/ready` for load
 * balancers, and a count of requests in flight so a stop can wait for them. Streamed responses
 * count against their client's connection bound (429 past it) and are ended when the client
 * stops reading.
 */
export function createHttpServer(graphql: RequestHandler, options: { maxBodyBytes: number; readiness: () => Promise<Readiness>; streams?: StreamLimits; routes?: Route[] }): HttpServer {
  const handle = limitRequestBody(options.maxBodyBytes, graphql);
  let inFlight = 0;
  let draining = false;
  const server = createServer((req, res) => {
    inFlight += 1;
    if (draining) res.setHeader('connection', 'close');
    res.on('close', () => {
      inFlight -= 1;
    });
    if ((req.url ?? '').split('?', 1)[0] === '/ready' && (req.method === 'GET' || req.method === 'HEAD')) {
      options.readiness().then(
        (r) => {
          res.writeHead(r.ready && !draining ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ ...r.body, status: r.ready && !draining ? 'ready' : draining ? 'stopping' : 'not ready' }));
        },
        () => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'not ready' }));
        },
      );
      return;
    }
    for (const route of options.routes ?? []) if (route(req, res)) return;
    if (options.streams && wantsStream(req)) {
      const streams = options.streams;
      const client = streams.clientOf(req);
      const release = streams.connections.acquire(client);
      if (!release) {
        streams.log.warn({ client, max: streams.maxConnectionsPerClient }, 'event stream refused: too many connections for this client');
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '5' });
        res.end(JSON.stringify({ errors: [{ message: tooManyConnectionsMessage(streams.maxConnectionsPerClient), extensions: { code: 'TOO_MANY_CONNECTIONS' } }] }));
        return;
      }
      res.once('close', release);
      guardStream(res, streams, client);
    }
    handle(req, res);
  });
  return {
    server,
    inFlight: () => inFlight,
    drain: () => {
      draining = true;
    },
  };
}

/**
 * End a streamed response whose client stopped reading. The node adapter yoga answers through
 * writes each event with `res.write` and waits for 'drain' when it returns false, so a paused
 * client holds its subscription (and its buffered events) for as long as it stays connected:
 * past `maxBufferedBytes` unsent, or `maxStallMs` without a drain, the response is destroyed.
 */
function guardStream(res: ServerResponse, limits: StreamLimits, client: string): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  let stall: NodeJS.Timeout | null = null;
  const cut = (why: string) => {
    if (res.destroyed) return;
    limits.log.warn({ client, bufferedBytes: res.writableLength, maxBytes: limits.maxBufferedBytes, maxStallMs: limits.maxStallMs, why }, 'event stream ended: slow consumer');
    res.destroy();
  };
  res.on('drain', () => {
    if (stall) clearTimeout(stall);
    stall = null;
  });
  res.once('close', () => {
    if (stall) clearTimeout(stall);
  });
  res.write = ((...args: unknown[]) => {
    if (res.destroyed) return false;
    const ok = write(...args);
    if (res.writableLength > limits.maxBufferedBytes) {
      cut('buffer');
      return false;
    }
    if (!ok && !stall) stall = setTimeout(() => cut('stalled'), limits.maxStallMs);
    return ok;
  }) as ServerResponse['write'];
}
