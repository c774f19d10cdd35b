// Print the signed-in learner's live events over SSE, one JSON line each.
//   TOKEN=$(npm run -s token -- alice) node examples/sse/watch.js [http://localhost:4000/graphql]
import { subscribeSse } from './client.js';

const MY_EVENTS = `subscription {
  myEvents {
    __typename
    ... on XpAwarded { amount totalXp reason }
    ... on LevelUp { level name }
    ... on BadgeUnlocked { award { badge { id name } } }
    ... on RankChange { board { period courseId } previousRank rank }
  }
}`;

const url = process.argv[2] ?? process.env.API_URL ?? 'http://localhost:4000/graphql';
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());

try {
  for await (const result of subscribeSse({ url, query: MY_EVENTS, token: process.env.TOKEN, signal: stop.signal })) {
    if (result.errors) {
      console.error(result.errors.map((e) => `${e.message}${e.extensions?.code ? ` (${e.extensions.code})` : ''}`).join('; '));
      process.exitCode = 1;
    } else {
      console.log(JSON.stringify(result.data?.myEvents));
    }
  }
} catch (err) {
  if (!stop.signal.aborted) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  }
}
