import type { IncomingMessage, ServerResponse } from 'node:http';

/** A Node HTTP request handler, such as `yoga.handle`. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Guard `handler` so that no request body larger than `maxBytes` reaches it, however it is sent.
 *
 * A body whose `content-length` is over the cap is refused before a byte of it is read. Node's
 * parser holds every other body to its announced length, so those go to `handler` as they are.
 * A body without a length (`transfer-encoding: chunked`) is read here, up to the cap, and
 * handed on as `req.body`, which @whatwg-node/server (under graphql-yoga) takes in place of
 * the stream; `handler` is not called until it is whole, so nothing else ever reads that
 * stream. Past the cap, reading stops and the caller gets 413 with `connection: close`; the
 * socket is destroyed once the answer is handed to the OS, so the rest is never read.
 */
export function limitRequestBody(maxBytes: number, handler: RequestHandler): RequestHandler {
  return (req, res) => {
    const announced = req.headers['content-length'];
    if (announced !== undefined) {
      if (Number(announced) > maxBytes) refuse(req, res, maxBytes);
      else handler(req, res);
      return;
    }
    // HTTP/1.1 has no body without content-length or transfer-encoding.
    if (req.headers['transfer-encoding'] === undefined) {
      handler(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.off('end', onEnd);
      req.pause();
      chunks.length = 0;
      refuse(req, res, maxBytes);
    };
    const onEnd = (): void => {
      handler(Object.assign(req, { body: Buffer.concat(chunks, size) }), res);
    };
    req.on('data', onData);
    req.once('end', onEnd);
  };
}

function refuse(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  const body = JSON.stringify({
    errors: [{ message: `A request body is at most ${maxBytes} bytes.`, extensions: { code: 'BAD_USER_INPUT' } }],
  });
  res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body, () => req.socket.destroy());
}
