import net, { type Server } from 'node:net';

/** A dependency the service cannot start without; `message` is the one line to print. */
export class StartupError extends Error {}

/** Resolve once `count()` has stayed at 0 for `forMs`, or after `maxMs` whatever it is. */
export async function quiet(count: () => number, forMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let since = Date.now();
  while (Date.now() < deadline) {
    if (count() > 0) since = Date.now();
    else if (Date.now() - since >= forMs) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Listen on `port` (0 picks a free one).
 * @returns the port listened on
 * @throws StartupError when the port is taken
 */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StartupError(`Port ${port} is already in use: stop the other server or set PORT to a free port.`) : err),
    );
    server.listen(port, host, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

/** Stop accepting connections but keep open ones: a request already sent on one is served. */
export function stopAccepting(server: Server): void {
  // (http.Server#close would also drop connections whose request is not parsed yet.)
  if (server.listening) net.Server.prototype.close.call(server);
}

