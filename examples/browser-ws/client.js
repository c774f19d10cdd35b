// A browser client for the learner's live events over graphql-ws: plain ES module, no bundler.
// In a page, map the bare `graphql-ws` import to its browser build (see index.html); in Node,
// pass `webSocketImpl` from the `ws` package.
import { createClient } from 'graphql-ws';

/** Everything that happens to the signed-in learner, one event at a time. */
export const MY_EVENTS = /* GraphQL */ `
  subscription MyEvents {
    myEvents {
      __typename
      ... on XpAwarded { amount totalXp reason occurredAt }
      ... on LevelUp { level name totalXp }
      ... on BadgeUnlocked { award { badge { id name } awardedAt } }
      ... on StreakUpdated { streak { current longest freezesAvailable } }
      ... on GoalCompleted { goal { kind current target } }
      ... on CertificateIssued { certificate { code } }
      ... on RankChange { board { period courseId } previousRank rank score }
    }
  }
`;

/** The close code the server uses for a missing, bad or expired token. */
export const UNAUTHORIZED = 4401;

/**
 * Connect to the API's WebSocket endpoint and follow `myEvents`.
 *
 * - The token goes in `connectionParams`, read through `getToken` on every (re)connect, so a
 *   reconnect after a network drop uses the current token.
 * - A ping every `keepAliveMs` keeps proxies from closing an idle socket.
 * - Network drops and server restarts are retried with backoff (at most 30 s apart).
 * - On close code 4401 the token is refused: `getToken({ refresh: true })` is asked for a
 *   fresh one and the subscription starts again, at most `maxReauth` times in a row.
 *
 * @param {object} options
 * @param {string} options.url e.g. `ws://localhost:4000/graphql`
 * @param {(opts: { refresh: boolean }) => string | null | Promise<string | null>} options.getToken
 * @param {(event: Record<string, any>) => void} options.onEvent one `myEvents` value
 * @param {(status: { state: 'connecting' | 'connected' | 'closed', code?: number, reason?: string }) => void} [options.onStatus]
 * @param {(error: unknown) => void} [options.onError] a refusal the client cannot recover from
 * @param {unknown} [options.webSocketImpl] a WebSocket class (Node: `ws`); the browser's by default
 * @param {number} [options.keepAliveMs]
 * @param {number} [options.maxReauth]
 * @param {string} [options.query] another subscription document, if not `myEvents`
 * @returns {{ close(): Promise<void> }}
 */
export function connect({ url, getToken, onEvent, onStatus = () => {}, onError = console.error, webSocketImpl, keepAliveMs = 10_000, maxReauth = 3, query = MY_EVENTS }) {
  let refresh = false;
  let reauths = 0;
  let closed = false;
  let stop = () => {};
  const client = createClient({
    url,
    webSocketImpl,
    keepAlive: keepAliveMs,
    connectionParams: async () => {
      const token = await getToken({ refresh });
      refresh = false;
      return token ? { authorization: `Bearer ${token}` } : {};
    },
    retryAttempts: Infinity,
    // Backoff with jitter, capped at 30 s (graphql-ws's own default keeps doubling without bound).
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** retries) * (0.5 + Math.random() / 2))),
    // Retry what a close event says is worth retrying (a drop, a restart); an error that is
    // not a close event is a bug to show. graphql-ws itself never retries 4401, handled below.
    shouldRetry: (errOrCloseEvent) => typeof errOrCloseEvent === 'object' && errOrCloseEvent !== null && 'code' in errOrCloseEvent,
    on: {
      connecting: () => onStatus({ state: 'connecting' }),
      connected: () => {
        reauths = 0;
        onStatus({ state: 'connected' });
      },
      closed: (event) => {
        const { code, reason } = /** @type {{ code?: number, reason?: string }} */ (event ?? {});
        if (code === UNAUTHORIZED) refresh = true;
        onStatus({ state: 'closed', code, reason });
      },
    },
  });

  function start() {
    stop = client.subscribe(
      { query },
      {
        next: (result) => {
          if (result.errors) onError(result.errors);
          if (result.data) onEvent(/** @type {Record<string, any>} */ (Object.values(result.data)[0]));
        },
        error: (err) => {
          const code = err?.code;
          if (!closed && code === UNAUTHORIZED && reauths < maxReauth) {
            reauths += 1;
            refresh = true;
            start();
            return;
          }
          onError(err);
        },
        complete: () => {},
      },
    );
  }
  start();

  return {
    async close() {
      closed = true;
      stop();
      await client.dispose();
    },
  };
}
