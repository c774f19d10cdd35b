import type { IncomingMessage } from 'node:http';
import type { TokenVerifier } from '../domain/auth/tokens';
import { viewerOf } from './context';

/** Close code of a WebSocket refused because its client already holds the most connections. */
export const TOO_MANY_CONNECTIONS_CLOSE = 4429;
/** Close code of a WebSocket cut off because it stopped reading (its send buffer passed the bound). */
export const SLOW_CONSUMER_CLOSE = 4008;

/**
 * Long-lived connections (WebSockets and event streams) per client on this instance. A client
 * is the token's subject when a valid token is sent, else the remote address.
 */
export class ClientConnections {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerClient: number) {}

  /**
   * Count one more connection of `client`.
   * @returns a function that releases it (idempotent), or null when the client is at the bound
   */
  acquire(client: string): (() => void) | null {
    const n = this.open.get(client) ?? 0;
    if (n >= this.maxPerClient) return null;
    this.open.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left <= 0) this.open.delete(client);
      else this.open.set(client, left);
    };
  }

  /** Connections `client` holds now (tests, metrics). */
  count(client: string): number {
    return this.open.get(client) ?? 0;
  }
}

/**
 * Who a long-lived connection belongs to: `learner:<id>` for a valid token, else
 * `address:<remote address>`. A bad token counts against the address (the request is refused
 * for it anyway). The remote address is the socket's: behind a proxy, every anonymous client
 * shares the proxy's.
 */
export function clientOf(authorization: unknown, request: IncomingMessage, tokens: TokenVerifier): string {
  try {
    const viewer = viewerOf(authorization, tokens);
    if (viewer) return `learner:${viewer.id}`;
  } catch {
    // Counted by address below.
  }
  return `address:${request.socket.remoteAddress ?? 'unknown'}`;
}

/** The message of a refusal at the connection bound. */
export function tooManyConnectionsMessage(max: number): string {
  return `Too many connections: at most ${max} WebSocket connections and event streams per client; close one first.`;
}
