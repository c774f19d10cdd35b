import type { Server } from 'node:http';
import { GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { TokenVerifier } from '../domain/auth/tokens';
import { DomainError } from '../domain/errors';
import type { Context } from '../schema/context';
import { connectionAuthorization, viewerOf } from './context';

export interface GraphqlWs {
  wss: WebSocketServer;
  /** Close every socket with `code` and stop the graphql-ws server. */
  close(code: number, reason: string): Promise<void>;
}

/**
 * graphql-ws on the HTTP server's port, at the GraphQL path. A connection with a bad token is
 * closed with 4401 at once (the client should get a new token rather than retry as is);
 * operations go through yoga's envelop, so they get the same plugins as HTTP.
 */
export function attachGraphqlWs(server: Server, yoga: YogaServerInstance<Record<string, unknown>, Context>, tokens: TokenVerifier, maxPayload: number): GraphqlWs {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload });
  // The HTTP server's own errors (a port in use) are reported by listen(); the WebSocket server
  // only repeats them.
  wss.on('error', () => undefined);
  const graphqlWs = useServer<Record<string, unknown>>(
    {
      onConnect: (ctx) => {
        try {
          viewerOf(connectionAuthorization(ctx.connectionParams ?? {}, ctx.extra.request), tokens);
          return true;
        } catch (err) {
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
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
