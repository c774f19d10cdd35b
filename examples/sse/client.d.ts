// Types of client.js for TypeScript callers (the module itself is plain JavaScript).
export interface SseResult {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface SseOptions {
  /** e.g. `http://localhost:4000/graphql` */
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | null;
  signal?: AbortSignal;
}

/** Each result of the operation as it arrives. @throws Error when the server refuses the request. */
export declare function subscribeSse(options: SseOptions): AsyncGenerator<SseResult, void, undefined>;

/** The `event:`/`data:` events of a `text/event-stream` body. */
export declare function serverSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: string }, void, undefined>;
