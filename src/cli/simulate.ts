/**
 * Development helper: demo learners who learn on their own, so boards and feeds move while
 * you explore the dashboard or GraphiQL.
 *   npm run simulate [-- --for 60s] [--actions 100] [--pace 2s] [--learners demo-ada,demo-linus]
 * Talks to a running server over GraphQL HTTP (SIMULATE_URL, default
 * http://localhost:4000/graphql), each learner with a token of its own signed with
 * JWT_SECRET (or the development default the server also uses). Refuses NODE_ENV=production.
 * Ctrl-C stops it after the action in flight.
 */
import { loadConfig } from '../config';
import { signToken } from '../domain/auth/tokens';
import { learnerId } from '../domain/auth/viewer';

const USAGE = 'Usage: npm run simulate -- [--for 60s] [--actions N] [--pace 2s] [--learners demo-ada,demo-linus,demo-grace]';

/** The demo learners the dashboard signs in as, with the names they show on the boards. */
export const DEMO_LEARNERS: Record<string, string> = {
  'demo-ada': 'Ada',
  'demo-linus': 'Linus',
  'demo-grace': 'Grace',
};

export interface SimulateOptions {
  url: string;
  learners: string[];
  /** Stop after this many actions (null: no bound). */
  actions: number | null;
  /** Stop after this long, in ms (null: until Ctrl-C). */
  forMs: number | null;
  /** Mean pause between two actions, in ms; each pause is drawn from 0.5x..1.5x of it. */
  paceMs: number;
}

/** Milliseconds of "500ms", "60s", "5m", "1h" or a bare number of seconds; null when it is none of those. Pure. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(n * unit);
}

/** The options of a command line. @throws Error with one line (and the usage) for a bad one */
export function parseArgs(args: string[], env: Record<string, string | undefined>): SimulateOptions {
  const options: SimulateOptions = {
    url: env.SIMULATE_URL || 'http://localhost:4000/graphql',
    learners: Object.keys(DEMO_LEARNERS),
    actions: null,
    forMs: null,
    paceMs: 2000,
  };
  const value = (i: number, name: string) => {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value.\n${USAGE}`);
    return v;
  };
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--for' || a === '--pace') {
      const ms = parseDuration(value(i, a));
      if (ms === null || ms <= 0) throw new Error(`${a} takes a duration such as 500ms, 60s or 5m, not "${args[i + 1]}".\n${USAGE}`);
      if (a === '--for') options.forMs = ms;
      else options.paceMs = ms;
      i += 1;
    } else if (a === '--actions') {
      const n = Number(value(i, a));
      if (!Number.isInteger(n) || n < 1) throw new Error(`--actions takes a whole number of at least 1, not "${args[i + 1]}".\n${USAGE}`);
      options.actions = n;
      i += 1;
    } else if (a === '--learners') {
      const ids = value(i, a).split(',').map((s) => s.trim()).filter(Boolean);
      const bad = ids.find((id) => !learnerId.safeParse(id).success);
      if (ids.length === 0 || bad !== undefined) throw new Error(`--learners takes learner ids separated by commas${bad ? `; "${bad}" is not one` : ''}.\n${USAGE}`);
      options.learners = ids;
      i += 1;
    } else if (a === '--url') {
      options.url = value(i, a);
      i += 1;
    } else {
      throw new Error(`Unknown option ${a}\n${USAGE}`);
    }
  }
  try {
    new URL(options.url);
  } catch {
    throw new Error(`SIMULATE_URL is not a URL: "${options.url}".`);
  }
  return options;
}

interface GqlError {
  message: string;
  extensions?: { code?: string };
}

/** An answer with errors, or a server that could not be reached. */
class CallFailed extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface CourseShape {
  id: string;
  title: string;
  modules: { lessons: { id: string; title: string; kind: string; durationSeconds: number | null }[]; quizzes: { id: string; title: string; passScore: number }[] }[];
}

/** What one demo learner knows of its own progress (built as it goes; the server has the truth). */
interface Learner {
  id: string;
  token: string;
  enrolled: Set<string>;
  doneLessons: Set<string>;
  passedQuizzes: Set<string>;
  watched: Map<string, number>;
  loggedIn: boolean;
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/**
 * Run the demo learners until `options` says stop or `signal` aborts.
 * @returns the number of actions taken
 * @throws CallFailed when the server cannot be reached at the start, or stops answering
 */
export async function simulate(options: SimulateOptions, tokenOf: (learnerId: string) => Promise<string>, out: (line: string) => void, signal: AbortSignal): Promise<number> {
  const call = async <T>(query: string, variables: Record<string, unknown>, token: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new CallFailed(`Cannot reach ${options.url} (${cause}): is the server running? Start it with npm start, or set SIMULATE_URL.`, 'UNREACHABLE');
    }
    const body = (await res.json().catch(() => null)) as { data?: T; errors?: GqlError[] } | null;
    if (!body) throw new CallFailed(`${options.url} answered HTTP ${res.status} without a GraphQL result: is SIMULATE_URL the /graphql endpoint?`, 'NOT_GRAPHQL');
    if (body.errors?.length) throw new CallFailed(body.errors[0]!.message, body.errors[0]!.extensions?.code ?? 'ERROR');
    return body.data as T;
  };

  const learners: Learner[] = [];
  for (const id of options.learners) {
    const token = await tokenOf(id);
    const me = await call<{ me: { displayName: string | null; enrollments: { course: { id: string } }[] } }>(
      '{ me { displayName enrollments { course { id } } } }',
      {},
      token,
    );
    if (me.me.displayName === null && DEMO_LEARNERS[id]) {
      await call('mutation($i: ProfileInput!) { updateProfile(input: $i) { id } }', { i: { displayName: DEMO_LEARNERS[id] } }, token);
    }
    learners.push({ id, token, enrolled: new Set(me.me.enrollments.map((e) => e.course.id)), doneLessons: new Set(), passedQuizzes: new Set(), watched: new Map(), loggedIn: false });
  }
  const { courses } = await call<{ courses: CourseShape[] }>(
    '{ courses { id title modules { lessons { id title kind durationSeconds } quizzes { id title passScore } } } }',
    {},
    learners[0]!.token,
  );
  if (courses.length === 0) throw new CallFailed('The catalog has no courses: start the server with DEMO_CATALOG=true (the default) or add one.', 'NO_COURSES');
  out(`simulate: ${learners.map((l) => l.id).join(', ')} learning at ${options.url} (about one action every ${options.paceMs} ms; Ctrl-C stops)`);

  const started = Date.now();
  let actions = 0;
  let unreachable = 0;
  while (!signal.aborted && (options.actions === null || actions < options.actions) && (options.forMs === null || Date.now() - started < options.forMs)) {
    const learner = pick(learners)!;
    try {
      const line = await act(learner, courses, call);
      actions += 1;
      unreachable = 0;
      if (line) out(`${learner.id} ${line}`);
    } catch (err) {
      if (!(err instanceof CallFailed)) throw err;
      actions += 1;
      if (err.code === 'UNREACHABLE' && ++unreachable >= 5) throw err;
      // Rate limits and the like: one line, and the next action.
      out(`${learner.id}: ${err.message}`);
    }
    if (options.actions !== null && actions >= options.actions) break;
    await pause(options.paceMs * (0.5 + Math.random()), signal);
  }
  return actions;
}

/** Wait `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

type Call = <T>(query: string, variables: Record<string, unknown>, token: string) => Promise<T>;

const PAID = 'xpAwarded totalXp level badgesUnlocked { badge { name } }';
const COMPLETION = `${PAID} leveledUp`;

function summary(c: { xpAwarded: number; totalXp: number; level: number; leveledUp?: boolean; badgesUnlocked: { badge: { name: string } }[] }): string {
  const extras = [c.leveledUp ? `level ${c.level}!` : null, ...c.badgesUnlocked.map((b) => `badge "${b.badge.name}"`)].filter(Boolean);
  return `+${c.xpAwarded} XP (total ${c.totalXp})${extras.length ? `, ${extras.join(', ')}` : ''}`;
}

/** One thing a learner does: log in, enroll, watch, complete a lesson or take a quiz. @returns what happened, in words */
async function act(l: Learner, courses: CourseShape[], call: Call): Promise<string | null> {
  if (!l.loggedIn) {
    l.loggedIn = true;
    await call('mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted } }', { e: [{ id: `login-${l.id}-${Date.now()}`, type: 'DAILY_LOGIN', occurredAt: new Date().toISOString() }] }, l.token);
    return 'logged in';
  }
  const mine = courses.filter((c) => l.enrolled.has(c.id));
  const open = mine.filter((c) => c.modules.some((m) => m.lessons.some((x) => !l.doneLessons.has(x.id)) || m.quizzes.some((q) => !l.passedQuizzes.has(q.id))));
  const others = courses.filter((c) => !l.enrolled.has(c.id));
  if (others.length > 0 && (open.length === 0 || Math.random() < 0.1)) {
    const course = pick(others)!;
    l.enrolled.add(course.id);
    try {
      await call('mutation($c: ID!) { enroll(courseId: $c) { id } }', { c: course.id }, l.token);
    } catch (err) {
      if (err instanceof CallFailed && err.code === 'ALREADY_ENROLLED') return null;
      throw err;
    }
    return `enrolled in "${course.title}"`;
  }
  const course = pick(open);
  if (!course) return null;
  const lessons = course.modules.flatMap((m) => m.lessons).filter((x) => !l.doneLessons.has(x.id));
  const quizzes = course.modules.flatMap((m) => m.quizzes).filter((q) => !l.passedQuizzes.has(q.id));
  const roll = Math.random();
  const video = lessons.find((x) => x.kind === 'VIDEO' && x.durationSeconds);
  if (video && roll < 0.3) {
    const seconds = 30 + Math.floor(Math.random() * 150);
    const r = await call<{ recordWatchTime: { watchTimeSeconds: number; completed: boolean; completion: Parameters<typeof summary>[0] | null } }>(
      `mutation($l: ID!, $s: Int!) { recordWatchTime(lessonId: $l, seconds: $s) { watchTimeSeconds completed completion { ${COMPLETION} } } }`,
      { l: video.id, s: seconds },
      l.token,
    );
    if (r.recordWatchTime.completed) l.doneLessons.add(video.id);
    const done = r.recordWatchTime.completion ? `, completed it: ${summary(r.recordWatchTime.completion)}` : '';
    return `watched ${seconds}s of "${video.title}"${done}`;
  }
  const lesson = lessons[0];
  if (lesson && (roll < 0.8 || quizzes.length === 0)) {
    l.doneLessons.add(lesson.id);
    try {
      const r = await call<{ completeLesson: Parameters<typeof summary>[0] }>(`mutation($l: ID!) { completeLesson(lessonId: $l) { ${COMPLETION} } }`, { l: lesson.id }, l.token);
      return `completed "${lesson.title}": ${summary(r.completeLesson)}`;
    } catch (err) {
      // Done in an earlier run: the next one.
      if (err instanceof CallFailed && err.code === 'ALREADY_COMPLETED') return null;
      throw err;
    }
  }
  const quiz = quizzes[0];
  if (!quiz) return null;
  const score = 50 + Math.floor(Math.random() * 51);
  const r = await call<{ submitQuizAttempt: Parameters<typeof summary>[0] & { attempt: { passed: boolean } } }>(
    `mutation($q: ID!, $s: Int!) { submitQuizAttempt(quizId: $q, score: $s) { attempt { passed } ${PAID} } }`,
    { q: quiz.id, s: score },
    l.token,
  );
  if (r.submitQuizAttempt.attempt.passed) l.passedQuizzes.add(quiz.id);
  return `scored ${score} in "${quiz.title}" (${r.submitQuizAttempt.attempt.passed ? 'passed' : 'not passed'}): ${summary(r.submitQuizAttempt)}`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  if (process.env.NODE_ENV === 'production') {
    console.error('simulate refuses to run with NODE_ENV=production: it makes up learning activity.');
    process.exit(2);
  }
  let options: SimulateOptions;
  let config;
  try {
    options = parseArgs(args, process.env);
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tokenOf = (id: string) => signToken(id, { secret: config.jwtSecret, expiresIn: '12h', audience: config.jwtAudience, issuer: config.jwtIssuer });
  try {
    const actions = await simulate(options, tokenOf, (line) => console.log(line), stop.signal);
    console.log(`simulate: stopped after ${actions} action${actions === 1 ? '' : 's'}.`);
  } catch (err) {
    if (!(err instanceof CallFailed)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}

// Run as a command, not when a test imports the functions above.
if (process.argv[1] && /simulate\.[jt]s$/.test(process.argv[1])) await main();
