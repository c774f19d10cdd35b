// A GraphQL-over-SSE client with nothing but fetch and a stream reader (browsers, Node 18+,
// Deno, Bun). The server answers a POST to /graphql that accepts `text/event-stream` with one
// `next` event per result and a `complete` event at the end.

/**
 * Run an operation (typically a subscription) and yield each result as it arrives.
 * Stop early with `break` in the `for await` loop or with `signal`.
 *
 * @param {object} options
 * @param {string} options.url e.g. `http://localhost:4000/graphql`
 * @param {string} options.query
 * @param {Record<string, unknown>} [options.variables]
 * @param {string | null} [options.token] sent as `Authorization: Bearer <token>`
 * @param {AbortSignal} [options.signal]
 * @returns {AsyncGenerator<{ data?: Record<string, any> | null, errors?: { message: string, extensions?: Record<string, unknown> }[] }>}
 * @throws {Error} when the server refuses the request (message and code of its first error)
 */
export async function* subscribeSse({ url, query, variables, token, signal }) {
  const controller = new AbortController();
  const abort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', abort, { once: true });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    const type = res.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream')) throw refusal(res.status, await res.text());
    for await (const { event, data } of serverSentEvents(res.body)) {
      if (event === 'complete') break;
      if (event !== 'next' && event !== 'message') continue;
      // A refused request (401, 429...) still answers as a stream: one result with the errors.
      if (!res.ok) throw refusal(res.status, data);
      yield JSON.parse(data);
    }
    if (!res.ok) throw refusal(res.status, '');
  } finally {
    signal?.removeEventListener('abort', abort);
    // Leaving the loop early closes the stream, and the server ends the subscription.
    controller.abort();
  }
}

/** One line saying why the server refused: its first error's message and code. */
function refusal(status, body) {
  let first;
  try {
    first = JSON.parse(body).errors?.[0];
  } catch {
    // Not JSON: say what came back.
  }
  if (!first) return new Error(`HTTP ${status}${body ? `: ${body.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`);
  return new Error(`${first.message}${first.extensions?.code ? ` (${first.extensions.code})` : ''}`);
}

/**
 * The events of a `text/event-stream` body (the parts of the SSE format GraphQL servers use:
 * `event:`, `data:` lines, `:` comments as keep-alive, a blank line ends an event).
 *
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<{ event: string, data: string }>}
 */
export async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let newline;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
        if (line === '') {
          if (data.length) yield { event: event || 'message', data: data.join('\n') };
          event = '';
          data = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = text;
          else if (field === 'data') data.push(text);
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}
