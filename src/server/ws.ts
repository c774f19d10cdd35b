import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Context as WsContext } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TokenVerifier } from '../domain/auth/tokens';
import { DomainError } from '../domain/errors';
import type { Logger } from '../logger';
import type { Context } from '../schema/context';
import { ClientConnections, clientOf, SLOW_CONSUMER_CLOSE, TOO_MANY_CONNECTIONS_CLOSE, tooManyConnectionsMessage } from './connections';
import { connectionAuthorization, headersAuthorization, viewerOf } from './context';

export interface GraphqlWs {
  wss: WebSocketServer;
  /** Close every socket with `code` and stop the graphql-ws server. */
  close(code: number, reason: string): Promise<void>;
  /** Operations (subscriptions, and queries or mutations sent over a socket) running on all sockets now. */
  activeSubscriptions(): number;
}

export interface GraphqlWsOptions {
  /** Largest message a client may send. */
  maxPayload: number;
  /** Operations one connection may run at once; one more gets TOO_MANY_SUBSCRIPTIONS. */
  maxSubscriptions: number;
  /** Connections per client (shared with the event streams of the HTTP server). */
  connections: ClientConnections;
  maxConnectionsPerClient: number;
  /** A socket whose unsent bytes would pass this is a slow consumer: closed with 4008. */
  maxBufferedBytes: number;
  log: Logger;
}

/** Sockets waiting for connection_init per address: this many times the per-client bound. */
const PENDING_PER_CLIENT_BOUND = 5;

/** How long a slow consumer has to read its close frame before its socket is dropped. */
const SLOW_CONSUMER_GRACE_MS = 1000;

/** An error for one operation, with a code; the connection and its other operations go on. */
function refusal(err: unknown, fallbackCode: string): GraphQLError {
  if (err instanceof GraphQLError) {
    if (err.extensions?.code) return err;
    return new GraphQLError(err.message, { nodes: err.nodes, source: err.source, positions: err.positions, extensions: { ...err.extensions, code: fallbackCode } });
  }
  if (err instanceof DomainError) return new GraphQLError(err.message, { extensions: { code: err.code } });
  return new GraphQLError('The operation could not be started.', { extensions: { code: fallbackCode } });
}

/**
 * graphql-ws on the HTTP server's port, at the GraphQL path. A connection with a bad token is
 * closed with 4401 at once (the client should get a new token rather than retry as is), and one
 * past the client's connection bound with 4429. Operations go through yoga's envelop, so they
 * get the same plugins as HTTP; an operation refused there (syntax, validation, query limits,
 * auth, the subscription bound) gets an `error` message for its id and nothing else is
 * touched. A connection opened without a token (GraphiQL's) may name one per operation, in the
 * subscribe message's `payload.extensions.headers.Authorization`: it is verified like the
 * connection's, and a bad one refuses that operation (UNAUTHENTICATED), not the connection.
 * A socket that stops reading is closed with 4008 before its unsent bytes pass the
 * bound, instead of being buffered without limit.
 */
export function attachGraphqlWs(server: Server, yoga: YogaServerInstance<Record<string, unknown>, Context>, tokens: TokenVerifier, options: GraphqlWsOptions): GraphqlWs {
  const { log } = options;
  // Upgrades are handed over here rather than letting ws listen on the HTTP server: so attached,
  // ws repeats the server's own errors (a port in use) and graphql-ws prints each one with its
  // stack, before listen() reports it in one line.
  const wss = new WebSocketServer({ noServer: true, path: yoga.graphqlEndpoint, maxPayload: options.maxPayload });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  server.on('upgrade', upgrade);
  // Sockets that have not sent connection_init yet (graphql-ws closes them after 3 s) are
  // counted per address, with a bound of their own (several clients may share an address):
  // a flood of sockets that never say who they are cannot pile up.
  const pending = new ClientConnections(options.maxConnectionsPerClient * PENDING_PER_CLIENT_BOUND);
  const pendingRelease = new WeakMap<WebSocket, () => void>();
  // The connections past connection_init, to count their operations.
  const open = new Set<WsContext<Record<string, unknown>>>();
  // Registered before graphql-ws's own listener, so every message it sends goes through here.
  wss.on('connection', (socket, request) => {
    guardSendBuffer(socket, options.maxBufferedBytes, log);
    const address = `address:${request.socket.remoteAddress ?? 'unknown'}`;
    const release = pending.acquire(address);
    if (!release) {
      log.warn({ client: address }, 'websocket refused: too many connections from this address waiting for connection_init');
      socket.close(TOO_MANY_CONNECTIONS_CLOSE, 'Too many connections from this address waiting for connection_init.');
      return;
    }
    pendingRelease.set(socket, release);
    socket.once('close', release);
  });
  const graphqlWs = useServer<Record<string, unknown>>(
    {
      onConnect: (ctx) => {
        const { socket, request } = ctx.extra;
        pendingRelease.get(socket)?.();
        const authorization = connectionAuthorization(ctx.connectionParams ?? {}, request);
        try {
          viewerOf(authorization, tokens);
        } catch (err) {
          socket.close(4401, err instanceof DomainError ? err.message : 'Unauthorized');
          return false;
        }
        const client = clientOf(authorization, request, tokens);
        const release = options.connections.acquire(client);
        if (!release) {
          log.warn({ client, max: options.maxConnectionsPerClient }, 'websocket refused: too many connections for this client');
          socket.close(TOO_MANY_CONNECTIONS_CLOSE, tooManyConnectionsMessage(options.maxConnectionsPerClient));
          return false;
        }
        socket.once('close', release);
        open.add(ctx);
        socket.once('close', () => open.delete(ctx));
        return true;
      },
      execute: (args) => (args.rootValue as { execute: (a: unknown) => unknown }).execute(args) as never,
      subscribe: async (args) => {
        try {
          return (await (args.rootValue as { subscribe: (a: unknown) => unknown }).subscribe(args)) as never;
        } catch (err) {
          log.error({ err }, 'websocket: a subscription failed to start');
          return { errors: [refusal(err, 'INTERNAL_SERVER_ERROR')] } as never;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        // graphql-ws registers the operation before calling this hook: it is counted.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptions) {
          return [
            new GraphQLError(`Too many subscriptions: at most ${options.maxSubscriptions} operations per connection; complete one first.`, {
              extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
            }),
          ];
        }
        let connectionParams = ctx.connectionParams ?? {};
        // GraphiQL connects without connectionParams and sends its headers with each operation.
        const perOperation = hasToken(connectionAuthorization(connectionParams, ctx.extra.request)) ? undefined : headersAuthorization(payload.extensions);
        if (perOperation !== undefined) {
          try {
            viewerOf(perOperation, tokens);
          } catch (err) {
            return [refusal(err, 'UNAUTHENTICATED')];
          }
          connectionParams = { ...connectionParams, authorization: perOperation };
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          connectionParams,
          upgradeRequest: ctx.extra.request,
        });
        // graphql-armor's limits throw from parse and validate; thrown here, graphql-ws would
        // close the whole connection (4500).
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [refusal(err, 'GRAPHQL_PARSE_FAILED')];
        }
        try {
          const errors = validate(schema, document);
          if (errors.length) return errors.map((e: GraphQLError) => refusal(e, 'GRAPHQL_VALIDATION_FAILED'));
        } catch (err) {
          return [refusal(err, 'GRAPHQL_VALIDATION_FAILED')];
        }
        // graphql-ws would answer "Unable to identify operation" without a code: say it as HTTP does.
        if (!getOperationAST(document, payload.operationName)) {
          return [new GraphQLError('Could not determine what operation to execute.', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
        }
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          return [refusal(err, 'INTERNAL_SERVER_ERROR')];
        }
        return { schema, operationName: payload.operationName, document, variableValues: payload.variables, contextValue, rootValue: { execute, subscribe } };
      },
    },
    wss,
  );
  return {
    wss,
    async close(code, reason) {
      for (const client of wss.clients) client.close(code, reason);
      await graphqlWs.dispose();
      server.off('upgrade', upgrade);
      await new Promise<void>((r) => wss.close(() => r()));
    },
    activeSubscriptions() {
      let n = 0;
      for (const ctx of open) n += Object.keys(ctx.subscriptions).length;
      return n;
    },
  };
}

/** Whether an authorization value holds anything to verify. */
function hasToken(authorization: unknown): boolean {
  return typeof authorization === 'string' && authorization.trim() !== '';
}

/**
 * Refuse to queue more than `maxBytes` for a client that does not read: graphql-ws sends with
 * `socket.send`, which buffers in memory whatever the peer does not take. The message that would
 * pass the bound is dropped, the socket closed with 4008 and, if the close frame is not read
 * within a second, dropped.
 */
function guardSendBuffer(socket: WebSocket, maxBytes: number, log: Logger): void {
  const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
  let cut = false;
  socket.send = ((data: unknown, ...rest: unknown[]) => {
    const size = typeof data === 'string' ? Buffer.byteLength(data) : ((data as { byteLength?: number }).byteLength ?? 0);
    if (cut || socket.bufferedAmount + size > maxBytes) {
      const done = rest.at(-1);
      if (!cut) {
        cut = true;
        log.warn({ bufferedBytes: socket.bufferedAmount, messageBytes: size, maxBytes }, 'websocket closed: slow consumer (send buffer full)');
        socket.close(SLOW_CONSUMER_CLOSE, 'Slow consumer');
        setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
      }
      if (typeof done === 'function') done();
      return;
    }
    send(data, ...rest);
  }) as WebSocket['send'];
}
