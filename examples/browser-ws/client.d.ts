// Types of client.js for TypeScript callers (the module itself is plain JavaScript).
export declare const MY_EVENTS: string;
export declare const UNAUTHORIZED: 4401;

export interface ConnectOptions {
  /** e.g. `ws://localhost:4000/graphql` */
  url: string;
  /** The current token; with `refresh: true` after the server refused one (4401): a new one. */
  getToken(opts: { refresh: boolean }): string | null | Promise<string | null>;
  /** One `myEvents` value (or the first root field of `query`). */
  onEvent(event: Record<string, any>): void;
  onStatus?(status: { state: 'connecting' | 'connected' | 'closed'; code?: number; reason?: string }): void;
  /** A refusal the client cannot recover from (GraphQL errors, or a close event). */
  onError?(error: unknown): void;
  /** A WebSocket class (Node: the `ws` package); the browser's by default. */
  webSocketImpl?: unknown;
  /** Ping interval (default 10 s). */
  keepAliveMs?: number;
  /** Fresh tokens to try in a row after 4401 before giving up (default 3). */
  maxReauth?: number;
  /** Another subscription document, if not `myEvents`. */
  query?: string;
}

export declare function connect(options: ConnectOptions): { close(): Promise<void> };
