import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { GraphiQLOptions } from 'graphql-yoga';
import type { Config } from '../config';
import { signToken } from '../domain/auth/tokens';
import type { Route } from './http';

/**
 * GraphiQL served by the server itself, offline: the page is small and loads GraphiQL's
 * bundle (the one `@graphql-yoga/render-graphiql` ships: script, styles, Monaco's workers) from
 * `/graphiql/<name>.<hash>.<ext>`, cached for good by the browser. Nothing comes from a CDN.
 */

/** The learner whose token GraphiQL opens with where demo sign-in is on (the dashboard's first demo learner). */
export const DEMO_LEARNER = 'demo-ada';

/** How to get a token, as a line of a comment. */
export const TOKEN_HINT = 'Get a token with: npm run -s token -- alice@example.com';

/** One example tab: a named operation (some tabs hold two), with its variables. */
export interface GraphiqlExample {
  query: string;
  variables?: Record<string, unknown>;
}

/** Where GraphiQL's bundle is served. */
export const ASSET_PATH = '/graphiql/';

interface Asset {
  name: string;
  type: string;
  body: Buffer;
  gzipped?: Buffer;
}

let assets: Map<string, Asset> | null = null;
let assetUrls: Record<'js' | 'css' | 'editorWorkerService' | 'json' | 'graphql' | 'favicon', string> | null = null;

const TYPES = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', ico: 'image/x-icon' } as const;

/** GraphiQL's bundle: script, styles, workers and favicon as strings. */
type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

/**
 * GraphiQL's files (its favicon too, a data: URI of 80 KB in the bundle), named by their content;
 * made once, on first use. The bundle is loaded then too, and dropped from the module cache once
 * copied: it is 9 MB of source held as strings (about 90 MB of a process's memory), which a server
 * with GraphiQL off (production) never pays.
 */
function assetsOnce(): NonNullable<typeof assetUrls> {
  if (assetUrls) return assetUrls;
  const require = createRequire(import.meta.url);
  const path = require.resolve('@graphql-yoga/render-graphiql/graphiql');
  const bundle = require(path) as Bundle;
  delete require.cache[path];
  const made = new Map<string, Asset>();
  const add = (base: string, ext: 'js' | 'css' | 'ico', body: Buffer): string => {
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const name = `${base}.${hash}.${ext}`;
    made.set(name, { name, type: TYPES[ext], body });
    return ASSET_PATH + name;
  };
  const text = (t: string) => Buffer.from(t, 'utf8');
  assetUrls = {
    js: add('graphiql', 'js', text(bundle.js)),
    css: add('graphiql', 'css', text(bundle.css)),
    editorWorkerService: add('editor.worker', 'js', text(bundle.editorWorkerService)),
    json: add('json.worker', 'js', text(bundle.jsonWorker)),
    graphql: add('graphql.worker', 'js', text(bundle.graphqlWorker)),
    favicon: add('favicon', 'ico', Buffer.from(bundle.favicon.slice(bundle.favicon.indexOf(',') + 1), 'base64')),
  };
  assets = made;
  return assetUrls;
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The GraphiQL page (yoga's `renderGraphiQL` option): a shell that loads the bundle from this server. */
export function renderGraphiQL(options: GraphiQLOptions): string {
  const urls = assetsOnce();
  const workers = { editorWorkerService: urls.editorWorkerService, json: urls.json, graphql: urls.graphql };
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${escapeHtml(options.favicon ?? urls.favicon)}" />
    <link rel="stylesheet" href="${urls.css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>GraphiQL needs JavaScript.</noscript>
    <div id="root"></div>
    <script>
      const workers = ${scriptJson(workers)};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (moduleId, label) => workers[label] };
    </script>
    <script src="${urls.js}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${scriptJson(options)});
    </script>
  </body>
</html>
`;
}

/** Serves GraphiQL's bundle under {@link ASSET_PATH}, gzipped when the client takes it, cached for good (names change with content). */
export function graphiqlAssets(): Route {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith(ASSET_PATH) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    assetsOnce();
    const asset = assets!.get(req.url.slice(ASSET_PATH.length).split('?')[0]!);
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
      return true;
    }
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? (asset.gzipped ??= gzipSync(asset.body)) : asset.body;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

/** The headers GraphiQL opens with: a ready token, or `{}` with a comment saying how to get one. */
export function graphiqlHeaders(token: string | null): string {
  if (token) return JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2);
  return `{
  // ${TOKEN_HINT}
  // then add the line: "Authorization": "Bearer <token>"
}`;
}

const ME = `# The dashboard: level, XP, streak, today's goals, courses, badges and rank.
# It reads the token in the Headers tab below.
query Me {
  me {
    id
    displayName
    totalXp
    level { level name progress minXp nextLevelXp }
    streak { current longest activeToday freezesAvailable }
    dailyGoals { kind target current completed }
    enrollments {
      course { id title }
      xpEarned
      progress { completedLessons totalLessons passedQuizzes totalQuizzes percentage }
    }
    badges { badge { id name } awardedAt }
    badgeProgress(first: 3) { badge { name } current target progress }
    rank { rank score }
  }
}

# No token needed: the catalog and the level table.
query Catalog {
  courses { id title lessonCount totalXp modules { title lessons { id title kind xpReward } } }
  levels { level name minXp }
}
`;

const COMPLETE_LESSON = `# Complete a lesson: it pays its XP once. Enroll in the course first: run "Enroll" once (the run button asks which).
# Keep a subscription tab open to watch XP, badges and rank change live.
mutation CompleteLesson($lessonId: ID!, $eventId: ID) {
  completeLesson(lessonId: $lessonId, eventId: $eventId) {
    xpAwarded
    totalXp
    level
    leveledUp
    badgesUnlocked { badge { name } }
    streak { current }
    enrollment { progress { percentage } }
  }
}

mutation Enroll($courseId: ID!) {
  enroll(courseId: $courseId) { id enrolledAt course { title } }
}
`;

const RECORD_EVENTS = `# Events from your LMS in bulk, idempotent by id: run it twice and the second run counts duplicates.
mutation RecordEvents($events: [LearningEventInput!]!) {
  recordEvents(events: $events) {
    accepted
    duplicates
    rejected { index id code message }
  }
}
`;

const MY_EVENTS = `# Everything that happens to you, live. Run it, then complete a lesson in another tab.
subscription MyEvents {
  myEvents {
    __typename
    ... on XpAwarded { amount totalXp reason occurredAt }
    ... on LevelUp { level name totalXp }
    ... on BadgeUnlocked { award { badge { name } awardedAt } }
    ... on StreakUpdated { streak { current longest } }
    ... on GoalCompleted { goal { kind target current } }
    ... on CertificateIssued { certificate { code } }
    ... on RankChange { board { period } previousRank rank score }
  }
}
`;

const ACHIEVEMENT_UNLOCKED = `# Badges as you unlock them.
subscription AchievementUnlocked {
  achievementUnlocked { badge { id name description } awardedAt }
}
`;

const RANK_CHANGED = `# Your rank on a board, climbing or being overtaken (periods: ALL_TIME, DAILY, WEEKLY, MONTHLY).
subscription RankChanged($board: BoardInput) {
  rankChanged(board: $board) { board { period courseId periodKey } previousRank rank score }
}
`;

const LEADERBOARD_CHANGED = `# A board's top entries: now, then on every change.
subscription LeaderboardChanged($board: BoardInput, $first: Int) {
  leaderboardChanged(board: $board, first: $first) {
    board { period periodKey endsAt }
    totalCount
    entries { rank score learner { id displayName level { level } } }
    me { rank score }
  }
}
`;

/**
 * The example tabs: the dashboard query, completeLesson, recordEvents and each subscription.
 * `nowMs` dates the recordEvents example (and gives it fresh event ids).
 */
export function graphiqlExamples(nowMs: number): GraphiqlExample[] {
  const at = new Date(nowMs).toISOString();
  return [
    { query: ME },
    { query: COMPLETE_LESSON, variables: { courseId: 'ts-foundations', lessonId: 'ts-1-1' } },
    {
      query: RECORD_EVENTS,
      variables: {
        events: [
          { id: `lms-${randomUUID()}`, type: 'LESSON_ACCESSED', lessonId: 'ts-1-2', occurredAt: at },
          { id: `lms-${randomUUID()}`, type: 'LESSON_COMPLETED', lessonId: 'ts-1-2', occurredAt: at },
        ],
      },
    },
    { query: MY_EVENTS },
    { query: ACHIEVEMENT_UNLOCKED },
    { query: RANK_CHANGED, variables: { board: { period: 'ALL_TIME' } } },
    { query: LEADERBOARD_CHANGED, variables: { board: { period: 'WEEKLY' }, first: 10 } },
  ];
}

/** The options GraphiQL opens with, given the headers of every tab. */
export function graphiqlOptions(headers: string, nowMs: number): GraphiQLOptions {
  return {
    title: 'Learning progress API',
    // Subscriptions over graphql-ws; the token travels in each subscribe message's extensions.headers.
    subscriptionsProtocol: 'WS',
    headers,
    defaultHeaders: headers,
    defaultTabs: graphiqlExamples(nowMs).map((e) => ({ query: e.query, variables: e.variables ? JSON.stringify(e.variables, null, 2) : null, headers })),
    defaultEditorToolsVisibility: 'headers',
  };
}

/**
 * Yoga's `graphiql` option: false when GRAPHIQL is off; else options made for each page, with a
 * fresh token for {@link DEMO_LEARNER} where DEMO_SIGN_IN is on (development, by default;
 * signed with the server's secret) and `{}` plus how to get a token elsewhere.
 */
export function graphiqlPage(config: Config): false | (() => Promise<GraphiQLOptions>) {
  if (!config.graphiql) return false;
  return async () => {
    const nowMs = Date.now();
    const token =
      config.demoSignIn
        ? await signToken(DEMO_LEARNER, { secret: config.jwtSecret, expiresIn: '12h', nowMs, audience: config.jwtAudience, issuer: config.jwtIssuer })
        : null;
    return graphiqlOptions(graphiqlHeaders(token), nowMs);
  };
}
