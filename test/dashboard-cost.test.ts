import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

// The "my learning" dashboard draws everything from one `me` query. What it costs in Redis
// must not grow with the learner's enrollments: DataLoaders and per-learner reads, never one
// read per course. Counted on the server's own connection, one query at a time.
const env = newTestEnv();
let t: TestApp;
let service: string;

const DASHBOARD = `query {
  me {
    id totalXp level { level minXp nextLevelXp progress }
    enrollments { id enrolledAt completedAt xpEarned course { id title } progress { percentage completionRate completedLessons totalLessons passedQuizzes totalQuizzes watchTimeSeconds } }
    badges { badge { id name } awardedAt }
    quizAttempts { quizId score attemptNumber passed }
    topicMastery { moduleId mastery }
    xpHistory(first: 10) { edges { node { amount reason } } }
    certificates { code }
    stats { lessonsCompleted quizzesTaken activeDays sessions coursesCompleted completionRate }
  }
}`;

/**
 * Redis commands about `learnerId` the server sends while answering the dashboard for them
 * (after a warm-up run). Background work on the same connection (outbox monitor, heartbeats)
 * names no learner and is left out.
 */
async function redisCommands(learnerId: string): Promise<string[]> {
  const token = await tokenFor(learnerId);
  const key = t.app.keys.learner(learnerId);
  const warm = await t.gql(DASHBOARD, { token });
  expect(warm.errors, JSON.stringify(warm.errors)).toBeUndefined();
  const sent: string[] = [];
  const client = t.app.redis as unknown as { sendCommand: (cmd: { name: string; args?: unknown[] }) => unknown };
  const original = client.sendCommand;
  client.sendCommand = function (this: unknown, cmd: { name: string; args?: unknown[] }) {
    if ((cmd.args ?? []).some((a) => typeof a === 'string' && a.includes(key))) sent.push(cmd.name);
    return original.call(this, cmd);
  };
  try {
    const res = await t.gql(DASHBOARD, { token });
    expect(res.errors).toBeUndefined();
  } finally {
    client.sendCommand = original;
  }
  return sent.sort();
}

beforeAll(async () => {
  t = await startTestApp(env, { config: { LOG_LEVEL: 'silent' } });
  service = await tokenFor('lms', ['service']);
  for (let c = 0; c < 10; c += 1) await t.app.services.catalog.upsertCourse(makeCourse({ id: `dc${c}`, modules: 2, lessons: 2, quizzes: 1 }));
  const gql = async (query: string, variables: Record<string, unknown>) => expect((await t.gql(query, { variables, token: service })).errors).toBeUndefined();
  for (const [learner, courses] of [['dc-one', 1], ['dc-ten', 10]] as const) {
    for (let c = 0; c < courses; c += 1) {
      await gql('mutation($l: ID, $c: ID!) { enroll(courseId: $c, learnerId: $l) { id } }', { l: learner, c: `dc${c}` });
      await gql('mutation($l: ID, $x: ID!) { completeLesson(lessonId: $x, learnerId: $l) { xpAwarded } }', { l: learner, x: `dc${c}-l1` });
      await gql('mutation($l: ID, $q: ID!) { submitQuizAttempt(quizId: $q, score: 90, learnerId: $l) { xpAwarded } }', { l: learner, q: `dc${c}-m1-q1` });
    }
  }
  await t.app.settle();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('the dashboard me query', () => {
  it('sends the same Redis commands for a learner with 10 enrollments as for one with 1', async () => {
    const one = await redisCommands('dc-one');
    const ten = await redisCommands('dc-ten');
    expect(one.length).toBeGreaterThan(2);
    expect(ten).toEqual(one);
  });
});
