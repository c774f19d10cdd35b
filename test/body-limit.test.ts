import { request } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, newTestEnv, startTestApp, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;

const MiB = 1024 * 1024;
const REFUSAL = { errors: [{ message: `A request body is at most ${MiB} bytes.`, extensions: { code: 'BAD_USER_INPUT' } }] };

beforeAll(async () => {
  t = await startTestApp(env);
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Send `head` (request line and headers) and then `send`'s bytes over a plain TCP socket, and
 * read the answer until the server closes the socket. Write errors are expected: the server
 * stops reading an over-long body, so it is the server, not the client, that ends the exchange.
 */
function rawExchange(head: string, send: (write: (data: string | Buffer) => void) => void): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(t.port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the socket; it sent: ${Buffer.concat(received).toString().slice(0, 300)}`));
    }, 10_000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP response, got: ${JSON.stringify(text.slice(0, 300))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const body = text.slice(split + 4);
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: headers['transfer-encoding'] === 'chunked' ? dechunk(body) : body });
    });
    socket.on('connect', () => {
      socket.write(`${head.trim().split('\n').map((l) => l.trim()).join('\r\n')}\r\n\r\n`);
      send((data) => {
        if (!socket.destroyed) socket.write(data);
      });
    });
  });
}

/** The payload of a chunked HTTP body. */
function dechunk(body: string): string {
  let out = '';
  for (let at = 0; ; ) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!size) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** `size` bytes of the body `{"query":"{ levels { level } }","variables":{"pad":"xxx..."}}`, split into `chunk`-byte pieces. */
function paddedQuery(size: number, chunk = 64 * 1024): Buffer[] {
  const start = '{"query":"{ levels { level } }","variables":{"pad":"';
  const end = '"}}';
  const body = Buffer.from(start + 'x'.repeat(size - start.length - end.length) + end);
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += chunk) pieces.push(body.subarray(i, i + chunk));
  return pieces;
}

/** POST `pieces` with node:http as a chunked body (no content-length). */
function postChunked(pieces: Buffer[]): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(t.url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
    expect(req.hasHeader('content-length')).toBe(false);
  });
}

async function expectHealthy(): Promise<void> {
  expect((await fetch(`http://127.0.0.1:${t.port}/health`)).status).toBe(200);
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ levels { level } }' }) });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { data: { levels: unknown[] } }).data.levels.length).toBeGreaterThan(0);
}

function chunked(piece: Buffer): string | Buffer {
  return Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
}

describe('HTTP body cap', () => {
  it('refuses a 2 MiB chunked body with 413 and closes the connection, and stays healthy', async () => {
    const res = await rawExchange(
      `POST /graphql HTTP/1.1
       host: 127.0.0.1
       content-type: application/json
       transfer-encoding: chunked`,
      (write) => {
        for (const piece of paddedQuery(2 * MiB)) write(chunked(piece));
        write('0\r\n\r\n');
      },
    );
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual(REFUSAL);
    await expectHealthy();
  });

  it('serves a small chunked body, and one just under the cap', async () => {
    const small = await postChunked([Buffer.from('{"query":"{ levels'), Buffer.from(' { level } }"}')]);
    expect(small.status).toBe(200);
    expect(small.json.errors).toBeUndefined();
    expect(small.json.data.levels[0]).toEqual({ level: 0 });

    const large = await postChunked(paddedQuery(MiB - 1024));
    expect(large.status).toBe(200);
    expect(large.json.data.levels[0]).toEqual({ level: 0 });
  });

  it('refuses a 2 MiB content-length body before reading it', async () => {
    const res = await rawExchange(
      `POST /graphql HTTP/1.1
       host: 127.0.0.1
       content-type: application/json
       content-length: ${2 * MiB}`,
      (write) => write(paddedQuery(2 * MiB)[0]!),
    );
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toEqual(REFUSAL);
    await expectHealthy();
  });
});

describe('WebSocket message cap', () => {
  it('closes the socket with 1009 for a message over 1 MiB', async () => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(MiB + 1) } }));
    expect(await closed).toBe(1009);
    await expectHealthy();
  });
});
