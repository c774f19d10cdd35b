import { createServer, type Server } from 'node:http';
import { limitRequestBody, type RequestHandler } from './body-limit';

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

/**
 * The HTTP server: GraphQL (yoga) behind a body cap that cannot be bypassed, `/ready` for load
 * balancers, and a count of requests in flight so a stop can wait for them.
 */
export function createHttpServer(graphql: RequestHandler, options: { maxBodyBytes: number; readiness: () => Promise<Readiness> }): HttpServer {
  const handle = limitRequestBody(options.maxBodyBytes, graphql);
  let inFlight = 0;
  let draining = false;
  const server = createServer((req, res) => {
    inFlight += 1;
    if (draining) res.setHeader('connection', 'close');
    res.on('close', () => {
      inFlight -= 1;
    });
    if (req.url === '/ready' && (req.method === 'GET' || req.method === 'HEAD')) {
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
