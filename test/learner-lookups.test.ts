import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor, type GqlResult, type TestApp } from './harness';

// learner(id) is public: a lookup of an id Redis does not hold asks Postgres, so those are
// remembered for a while (UNKNOWN_LEARNER_CACHE_MS) and limited per client (LEARNER_LOOKUPS_PER_MINUTE).
const env = newTestEnv();
let t: TestApp;
let service: string;
const CACHE_MS = 1500;
const PER_MINUTE = 5;

const LOOKUP = 'query($id: ID!) { learner(id: $id) { id totalXp level { level } badges { badge { id } } } }';

/** Over real HTTP, so the client is this socket's address (or the token's subject). */
async function lookup(id: string, token?: string): Promise<GqlResult> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: LOOKUP, variables: { id } }),
  });
  return (await res.json()) as GqlResult;
}

beforeAll(async () => {
  t = await startTestApp(env, { config: { LEARNER_LOOKUPS_PER_MINUTE: String(PER_MINUTE), UNKNOWN_LEARNER_CACHE_MS: String(CACHE_MS) } });
  service = await tokenFor('lms', ['service']);
  const admin = await tokenFor('admin', ['admin']);
  await t.gql('mutation($i: CourseInput!) { upsertCourse(input: $i) { id } }', { variables: { i: makeCourse({ id: 'lk' }) }, token: admin });
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

async function complete(learnerId: string, lesson = 'lk-l1'): Promise<GqlResult> {
  await t.gql('mutation($l: ID) { enroll(courseId: "lk", learnerId: $l) { id } }', { variables: { l: learnerId }, token: service });
  return t.gql('mutation($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }', { variables: { l: learnerId, lesson }, token: service });
}

describe('learner(id) of an unknown id', () => {
  it('asks Postgres once, then answers from memory until the cache time passes', async () => {
    const before = t.app.learnerStore.hydrations;
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => tokenFor(`asker-${i}`)));
    for (const token of tokens) expect((await lookup('nobody-1', token)).data!.learner).toBeNull();
    expect(t.app.learnerStore.hydrations - before).toBe(1);
    await new Promise((r) => setTimeout(r, CACHE_MS + 50));
    expect((await lookup('nobody-1', await tokenFor('asker-late'))).data!.learner).toBeNull();
    expect(t.app.learnerStore.hydrations - before).toBe(2);
  });

  it('never makes an event fail, and a learner created meanwhile is found at once', async () => {
    const asker = await tokenFor('asker-created');
    expect((await lookup('newcomer', asker)).data!.learner).toBeNull();
    expect((await complete('newcomer')).errors).toBeUndefined();
    expect((await lookup('newcomer', asker)).data!.learner).toMatchObject({ id: 'newcomer', totalXp: 50 });
  });

  it('hides a learner Redis lost for at most the cache time', async () => {
    const asker = await tokenFor('asker-lost');
    expect((await lookup('phoenix', asker)).data!.learner).toBeNull();
    expect((await complete('phoenix')).errors).toBeUndefined();
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner('phoenix'));
    // Remembered as unknown from before their first event: at most CACHE_MS more.
    await new Promise((r) => setTimeout(r, CACHE_MS + 50));
    expect((await lookup('phoenix', asker)).data!.learner).toMatchObject({ id: 'phoenix', totalXp: 50 });
  });

  it('is limited per client: past the budget RATE_LIMITED with retryAfter, other clients and known learners unaffected', async () => {
    await complete('known-one');
    const greedy = await tokenFor('greedy');
    for (let i = 0; i < PER_MINUTE; i += 1) expect((await lookup(`ghost-${i}`, greedy)).errors).toBeUndefined();
    const refused = await lookup('ghost-over', greedy);
    expect(refused.data!.learner).toBeNull();
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.errors![0]!.extensions!.retryAfter).toBeLessThanOrEqual(60 / PER_MINUTE);
    // A learner Redis holds costs no Postgres query and no budget.
    expect((await lookup('known-one', greedy)).data!.learner).toMatchObject({ id: 'known-one', totalXp: 50 });
    // Nor does an id remembered as unknown.
    expect((await lookup('ghost-0', greedy)).errors).toBeUndefined();
    expect((await lookup('ghost-other', await tokenFor('patient'))).errors).toBeUndefined();
  });

  it('never limits service callers (the LMS back end looks up every learner it has after a Redis loss)', async () => {
    for (let i = 0; i < PER_MINUTE * 3; i += 1) {
      const r = await lookup(`svc-ghost-${i}`, service);
      expect(r.errors).toBeUndefined();
      expect(r.data!.learner).toBeNull();
    }
  });

  it('counts callers without a token by address', async () => {
    let limited: GqlResult | undefined;
    for (let i = 0; i <= PER_MINUTE && !limited; i += 1) {
      const r = await lookup(`anon-ghost-${i}`);
      if (r.errors) limited = r;
    }
    expect(limited?.errors![0]!.extensions!.code).toBe('RATE_LIMITED');
    expect((await lookup('anon-ghost-x', await tokenFor('someone'))).errors).toBeUndefined();
  });
});
