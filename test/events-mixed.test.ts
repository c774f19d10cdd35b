import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// Every event kind of the progress issue in one recordEvents batch (lessons, watch time, video
// completion, quiz attempts, accesses), with duplicates and bad events, on one server; the same
// events one at a time on another (through the mutations where one exists, else as a batch of
// one). Outcomes and the resulting state must agree.
const bulkEnv = newTestEnv();
const oneEnv = newTestEnv();
let bulk: TestApp;
let one: TestApp;
let service: string;

const RECORD = `mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted duplicates rejected { index id code message } } }`;
const COMPLETE = `mutation($lesson: ID!, $l: ID, $id: ID) { completeLesson(lessonId: $lesson, learnerId: $l, eventId: $id) { xpAwarded } }`;
const WATCH = `mutation($lesson: ID!, $s: Int!, $l: ID, $id: ID) { recordWatchTime(lessonId: $lesson, seconds: $s, learnerId: $l, eventId: $id) { watchTimeSeconds } }`;
const SUBMIT = `mutation($q: ID!, $s: Int!, $l: ID, $id: ID) { submitQuizAttempt(quizId: $q, score: $s, learnerId: $l, eventId: $id) { xpAwarded } }`;
const STATE = `{ me {
  totalXp level { level }
  enrollments { completedAt xpEarned progress { percentage completionRate completedLessons passedQuizzes watchTimeSeconds } }
  quizAttempts(first: 100) { quizId score attemptNumber passed }
  certificates { course { id } }
  badges { badge { id } }
  lessonProgress(first: 10) { totalCount edges { node { lessonId completed watchTimeSeconds } } }
  topicMastery { moduleId lessonCompletionRate averageQuizScore mastery }
  stats { totalWatchTimeSeconds videosCompleted lessonsCompleted quizzesTaken quizzesPassed averageQuizScore coursesEnrolled coursesCompleted completionRate }
} }`;

// Course "mx": 2 modules of 3 lessons (VIDEO, READING, CHALLENGE in turn, 300 s each), one quiz per module.
const course = makeCourse({ id: 'mx', modules: 2, lessons: 3, quizzes: 1, xp: 20 });
const lessons = course.modules.flatMap((m) => m.lessons);
const videos = lessons.filter((l) => l.kind === 'VIDEO').map((l) => l.id);
const quizzes = course.modules.flatMap((m) => m.quizzes ?? []).map((q) => q.id);
const badges = [
  { id: 'mx-watcher', name: 'Watcher', criteria: { type: 'watch_time_seconds', value: 400 }, xpReward: 5 },
  { id: 'mx-ace', name: 'Ace', criteria: { type: 'quiz_score', min_score: 90 }, xpReward: 7 },
  { id: 'mx-done', name: 'Done', criteria: { type: 'courses_completed', value: 1 }, xpReward: 11 },
];
const learners = Array.from({ length: 12 }, (_, i) => `mx-${String(i).padStart(2, '0')}`);
/** The last two never enroll: their events are NOT_ENROLLED. */
const enrolled = learners.slice(0, 10);

interface Ev {
  id: string;
  type: string;
  occurredAt: string;
  learnerId: string;
  lessonId?: string;
  quizId?: string;
  score?: number;
  watchedSeconds?: number;
  goalKind?: string;
  target?: number;
}

async function setUp(t: TestApp) {
  const admin = await tokenFor('admin', ['admin']);
  expect((await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: course }, token: admin })).errors).toBeUndefined();
  for (const b of badges) expect((await t.gql('mutation($i: BadgeInput!) { upsertBadge(input: $i) { id } }', { variables: { i: b }, token: admin })).errors).toBeUndefined();
  for (const l of enrolled) await t.gql('mutation($l: ID) { enroll(courseId: "mx", learnerId: $l) { id } }', { variables: { l }, token: service });
}

beforeAll(async () => {
  service = await tokenFor('lms', ['service']);
  [bulk, one] = await Promise.all([startTestApp(bulkEnv), startTestApp(oneEnv)]);
  await Promise.all([setUp(bulk), setUp(one)]);
});

afterAll(async () => {
  await Promise.all([bulk?.stop(), one?.stop()]);
  await Promise.all([destroyTestEnv(bulkEnv), destroyTestEnv(oneEnv)]);
});

/** A fixed pseudo-random plan, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

/** One event applied alone on `t`: 'applied', 'duplicate' or the refusal's code. */
async function applyAlone(t: TestApp, e: Ev): Promise<string> {
  const vars = { l: e.learnerId, id: e.id };
  let res;
  if (e.type === 'LESSON_COMPLETED') res = await t.gql(COMPLETE, { variables: { ...vars, lesson: e.lessonId }, token: service });
  else if (e.type === 'VIDEO_PROGRESS' && e.watchedSeconds !== undefined) res = await t.gql(WATCH, { variables: { ...vars, lesson: e.lessonId, s: e.watchedSeconds }, token: service });
  else if (e.type === 'QUIZ_ATTEMPTED' && e.score !== undefined) res = await t.gql(SUBMIT, { variables: { ...vars, q: e.quizId, s: e.score }, token: service });
  else {
    const r = await t.gql(RECORD, { variables: { e: [e] }, token: service });
    const got = r.data!.recordEvents as { accepted: number; duplicates: number; rejected: { code: string }[] };
    return got.rejected[0]?.code ?? (got.duplicates ? 'duplicate' : 'applied');
  }
  return (res.errors?.[0]?.extensions?.code as string | undefined) ?? 'applied';
}

describe('recordEvents with every progress kind mixed', () => {
  it('gives the same outcomes and the same state as the events applied one at a time', async () => {
    const rand = rng(11);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const now = Date.now();
    const batch: Ev[] = [];
    for (let i = 0; batch.length < 400; i += 1) {
      const learnerId = pick(learners);
      // Within today (UTC): daily goals count per learning day, and the one-at-a-time run's
      // mutations happen now.
      const occurredAt = new Date(now - Math.floor(rand() * Math.min(6 * 3600_000, now % 86_400_000))).toISOString();
      const base = { id: `m-${i}`, occurredAt, learnerId };
      const r = rand();
      if (r < 0.05 && batch.length) batch.push({ ...pick(batch) }); // the same id again
      else if (r < 0.07) batch.push({ ...base, type: 'QUIZ_ATTEMPTED', quizId: pick(quizzes), score: 101 });
      else if (r < 0.09) batch.push({ ...base, type: 'VIDEO_PROGRESS', lessonId: 'mx-nope', watchedSeconds: 30 });
      else if (r < 0.1) batch.push({ ...base, type: 'GOAL_SET', goalKind: 'XP', target: 50 });
      else if (r < 0.3) batch.push({ ...base, type: 'LESSON_COMPLETED', lessonId: pick(lessons).id });
      else if (r < 0.5) batch.push({ ...base, type: 'VIDEO_PROGRESS', lessonId: pick(lessons).id, watchedSeconds: 20 + Math.floor(rand() * 150) });
      else if (r < 0.55) batch.push({ ...base, type: 'VIDEO_COMPLETED', lessonId: pick(videos) });
      else if (r < 0.8) batch.push({ ...base, type: 'QUIZ_ATTEMPTED', quizId: pick(quizzes), score: Math.floor(rand() * 101) });
      else if (r < 0.9) batch.push({ ...base, type: 'LESSON_ACCESSED', lessonId: pick(lessons).id });
      else batch.push({ ...base, type: 'VIDEO_STARTED', lessonId: pick(videos) });
    }

    const res = await bulk.gql(RECORD, { variables: { e: batch }, token: service });
    expect(res.errors).toBeUndefined();
    const got = res.data!.recordEvents as { accepted: number; duplicates: number; rejected: { index: number; code: string }[] };
    const bulkOutcome: string[] = batch.map(() => 'applied');
    for (const r of got.rejected) bulkOutcome[r.index] = r.code;

    // The same events, in order, one at a time. A repeated id answers the first result through a
    // mutation (no error): what bulk counted as a duplicate.
    const seen = new Set<string>();
    const oneOutcome: string[] = [];
    for (const e of batch) {
      const key = `${e.learnerId}|${e.id}`;
      const outcome = await applyAlone(one, e);
      oneOutcome.push(outcome === 'applied' && seen.has(key) ? 'duplicate' : outcome);
      if (outcome === 'applied' || outcome === 'duplicate') seen.add(key);
    }
    const dupIndexes = oneOutcome.flatMap((o, i) => (o === 'duplicate' ? [i] : []));
    expect(got.duplicates).toBe(dupIndexes.length);
    for (const i of dupIndexes) bulkOutcome[i] = 'duplicate';
    expect(bulkOutcome).toEqual(oneOutcome);
    // The plan reaches every kind of outcome.
    expect(new Set(oneOutcome)).toEqual(new Set(['applied', 'duplicate', 'BAD_USER_INPUT', 'NOT_FOUND', 'NOT_ENROLLED', 'ALREADY_COMPLETED']));
    expect(got.accepted).toBe(oneOutcome.filter((o) => o === 'applied').length);

    await Promise.all([bulk.app.settle(), one.app.settle()]);
    const stateOf = async (t: TestApp) => {
      const out: Record<string, unknown> = {};
      for (const l of learners) {
        const me = await t.gql(STATE, { token: await tokenFor(l) });
        expect(me.errors, `${l}: ${JSON.stringify(me.errors)}`).toBeUndefined();
        // Times differ (a mutation's event happens now, a batch's when it says): compare in a time-free order.
        const m = me.data!.me as {
          badges: { badge: { id: string } }[];
          quizAttempts: { quizId: string; attemptNumber: number }[];
          enrollments: { completedAt: string | boolean | null }[];
        };
        for (const e of m.enrollments) e.completedAt = e.completedAt !== null;
        m.badges.sort((x, y) => (x.badge.id < y.badge.id ? -1 : 1));
        m.quizAttempts.sort((x, y) => (x.quizId < y.quizId ? -1 : x.quizId > y.quizId ? 1 : x.attemptNumber - y.attemptNumber));
        out[l] = m;
      }
      const knex = t.app.orm.em.getKnex();
      out.ledger = ((await knex('xp_transactions').select('learner_id', 'reason', 'source_id', 'amount').whereIn('learner_id', learners).orderBy(['learner_id', 'reason', 'source_id'])) as Record<string, unknown>[]).map(
        (r) => ({ ...r, amount: Number(r.amount) }),
      );
      out.activities = Number(((await knex('activities').count('* as n').whereIn('learner_id', learners)) as { n: string }[])[0]!.n);
      return out;
    };
    const [a, b] = await Promise.all([stateOf(bulk), stateOf(one)]);
    expect(a).toEqual(b);
    // Something happened worth comparing: completions, certificates, badges.
    const states = learners.map((l) => a[l] as { certificates: unknown[]; badges: unknown[]; stats: { lessonsCompleted: number } });
    expect(states.some((s) => s.certificates.length > 0)).toBe(true);
    expect(states.filter((s) => s.badges.length > 0).length).toBeGreaterThan(3);
    // One activity per applied event but goal settings (not learning activity), and per enrollment.
    expect(a.activities).toBe(oneOutcome.filter((o, i) => o === 'applied' && batch[i]!.type !== 'GOAL_SET').length + enrolled.length);
  }, 120_000);
});
