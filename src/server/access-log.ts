import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, Kind, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger';

/** A request id a caller may choose: short, and only characters safe in a header and a log. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The operation each HTTP request ran, once GraphQL knows it (for its access-log line). */
const operations = new WeakMap<IncomingMessage, string>();

/** The request id to use: the caller's `x-request-id` when it is short and plain, else a new one. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/**
 * One access-log line per HTTP request (component `access`), written when its response ends
 * or its connection closes (a WebSocket's when it closes, with `upgrade: 'websocket'`): method, path (never the query string), status, duration, request
 * id, operation name when GraphQL ran one, client address. Never a header's value besides the
 * request id, never the variables.
 *
 * Every request gets an id (the caller's valid `x-request-id`, else a new one): it is put back
 * on the request, so the GraphQL context and the error messages use the same one, and echoed as
 * the `x-request-id` response header.
 */
export function attachAccessLog(server: Server, log: Logger): void {
  // Before the server's own handler, so the id is on the request when yoga reads it.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const start = process.hrtime.bigint();
    const id = requestIdOf(req.headers['x-request-id']);
    req.headers['x-request-id'] = id;
    res.setHeader('x-request-id', id);
    res.once('close', () => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const operation = operations.get(req);
      log.info(
        {
          method: req.method,
          path: (q === -1 ? url : url.slice(0, q)).slice(0, 200),
          status: res.statusCode,
          ms: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
          requestId: id,
          ...(operation ? { operation } : {}),
          ...(res.writableFinished ? {} : { aborted: true }),
          client: req.socket.remoteAddress,
        },
        'request',
      );
    });
  });
  // A WebSocket (an upgrade, which the request listener never sees): one line when it closes,
  // with how long it was open. Its id is echoed only in the line: a 101 answer is written by ws.
  server.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => {
    const start = process.hrtime.bigint();
    const id = requestIdOf(req.headers['x-request-id']);
    req.headers['x-request-id'] = id;
    socket.once('close', () => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      log.info(
        {
          method: req.method,
          path: (q === -1 ? url : url.slice(0, q)).slice(0, 200),
          upgrade: 'websocket',
          ms: Math.round(Number(process.hrtime.bigint() - start) / 1e4) / 100,
          requestId: id,
          client: req.socket.remoteAddress,
        },
        'websocket closed',
      );
    });
  });
}

/** Yoga plugin: tells the access log which operation an HTTP request names, once it is parsed (valid or not). */
export function useAccessLogOperation(): Plugin {
  return {
    onParse: ({ context }) => {
      const req = (context as { req?: IncomingMessage }).req;
      if (!req) return undefined;
      return ({ result }) => {
        if (!(result instanceof Object) || (result as { kind?: string }).kind !== Kind.DOCUMENT) return;
        const name = getOperationAST(result as DocumentNode, (context as { params?: { operationName?: string } }).params?.operationName)?.name?.value;
        if (name) operations.set(req, name.slice(0, 100));
      };
    },
  };
}
