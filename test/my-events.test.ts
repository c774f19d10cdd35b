import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, subscribe, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "ev": one module, 3 lessons of 60 XP, one quiz (pass at 70, 40 XP).
// Badge "ev-first": the first lesson, 50 XP. Levels: 2 "Apprentice" at 100 XP, 3 "Adept" at 1000.
const QUIZ = 'ev-m1-q1';
const MY_EVENTS = `subscription { myEvents { __typename
  ... on XpAwarded { amount totalXp reason occurredAt }
  ... on LevelUp { level name totalXp }
  ... on BadgeUnlocked { award { badge { id name } learnerId awardedAt } }
  ... on CertificateIssued { certificate { code course { id } issuedAt } }
  ... on RankChange { board { period courseId } learnerId previousRank rank score }
} }`;
const COMPLETE = 'mutation($l: ID, $lesson: ID!) { completeLesson(lessonId: $lesson, learnerId: $l) { totalXp } }';
const RECORD = 'mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted rejected { code message } } }';

async function enroll(learnerId: string) {
  const res = await t.gql('mutation($l: ID) { enroll(courseId: "ev", learnerId: $l) { id } }', { variables: { l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

async function complete(learnerId: string, lesson: string): Promise<number> {
  const res = await t.gql(COMPLETE, { variables: { l: learnerId, lesson }, token: service });
  expect(res.errors).toBeUndefined();
  return res.data!.completeLesson.totalXp as number;
}

async function quiz(learnerId: string, score: number, occurredAt: string) {
  const res = await t.gql(RECORD, { variables: { e: [{ id: `${learnerId}-${score}`, type: 'QUIZ_ATTEMPTED', occurredAt, quizId: QUIZ, score, learnerId }] }, token: service });
  expect(res.errors).toBeUndefined();
  expect(res.data!.recordEvents).toEqual({ accepted: 1, rejected: [] });
}

/** A myEvents subscription of a learner, once the server follows both its feeds. */
async function myEvents(learnerId: string) {
  const sub = await subscribe(t.wsUrl, MY_EVENTS, { token: await tokenFor(learnerId) });
  const feeds = t.app.services.feeds;
  await eventually(() => feeds.learner.listening(learnerId) && feeds.boards.tracking('g:all', learnerId), 5000, 'the server to subscribe');
  return sub;
}

const events = (sub: { values: Record<string, any>[] }) => sub.values.map((v) => v.myEvents);

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  const catalog = t.app.services.catalog;
  await catalog.upsertCourse(makeCourse({ id: 'ev', modules: 1, lessons: 3, xp: 60, quizzes: 1 }));
  // Course "evc": one lesson of 10 XP, no quiz: its lesson completes the course.
  await catalog.upsertCourse(makeCourse({ id: 'evc', modules: 1, lessons: 1, xp: 10 }));
  await catalog.upsertBadge({ id: 'ev-first', name: 'First steps', criteria: { type: 'lessons_completed', value: 1 }, xpReward: 50 });
  await catalog.setLevels([
    { level: 1, name: 'Novice', minXp: 0 },
    { level: 2, name: 'Apprentice', minXp: 100 },
    { level: 3, name: 'Adept', minXp: 1000 },
  ]);
  for (const l of ['ev-amy', 'ev-bob']) await enroll(l);
  await t.app.settle();
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('myEvents', () => {
  it("tells a learner's XP, level up, badge and rank in order; a failed attempt nothing; a quiz pass quiz_passed; never someone else's", async () => {
    const amy = await myEvents('ev-amy');
    const startedAt = Date.now();

    // 60 (lesson) + 50 (badge) = 110: from level 1 to level 2.
    expect(await complete('ev-amy', 'ev-l1')).toBe(110);
    await amy.waitFor(5);
    const [lesson, badgeXp, levelUp, badge, rank] = events(amy);
    expect(lesson).toMatchObject({ __typename: 'XpAwarded', amount: 60, totalXp: 60, reason: 'lesson_completed' });
    expect(Date.parse(lesson.occurredAt)).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(badgeXp).toEqual({ __typename: 'XpAwarded', amount: 50, totalXp: 110, reason: 'badge_unlocked', occurredAt: lesson.occurredAt });
    expect(levelUp).toEqual({ __typename: 'LevelUp', level: 2, name: 'Apprentice', totalXp: 110 });
    expect(badge).toMatchObject({ __typename: 'BadgeUnlocked', award: { badge: { id: 'ev-first', name: 'First steps' }, learnerId: 'ev-amy' } });
    // The board follows the outbox: the rank comes after what the event itself told.
    expect(rank).toEqual({ __typename: 'RankChange', board: { period: 'ALL_TIME', courseId: null }, learnerId: 'ev-amy', previousRank: null, rank: 1, score: 110 });

    // A failed attempt tells nothing: the next message is the pass's.
    const at = new Date(Date.now() - 60_000).toISOString();
    await quiz('ev-amy', 40, at);
    await quiz('ev-amy', 90, at);
    await amy.waitFor(6);
    expect(events(amy)[5]).toEqual({ __typename: 'XpAwarded', amount: 40, totalXp: 150, reason: 'quiz_passed', occurredAt: at });

    // Bob's events go to Bob only (he stays behind Amy, so her rank does not move).
    const bob = await myEvents('ev-bob');
    expect(await complete('ev-bob', 'ev-l1')).toBe(110);
    await bob.waitFor(5);
    expect(events(bob).map((e) => e.__typename)).toEqual(['XpAwarded', 'XpAwarded', 'LevelUp', 'BadgeUnlocked', 'RankChange']);
    expect(events(bob)[4]).toMatchObject({ learnerId: 'ev-bob', previousRank: null, rank: 2, score: 110 });
    await t.app.settle();
    // Bob's messages came first on the one learner channel: had any reached Amy, this would not be her 7th.
    expect(await complete('ev-amy', 'ev-l2')).toBe(210);
    await amy.waitFor(7);
    expect(events(amy)[6]).toMatchObject({ __typename: 'XpAwarded', amount: 60, totalXp: 210, reason: 'lesson_completed' });
    expect(amy.errors).toEqual([]);
    expect(bob.values).toHaveLength(5);

    // Leaving frees both feeds at once.
    await amy.close();
    await bob.close();
    const feeds = t.app.services.feeds;
    await eventually(() => !feeds.learner.listening('ev-amy') && !feeds.boards.tracking('g:all', 'ev-amy') && !feeds.learner.listening('ev-bob'), 5000, 'the feeds to let go');
  });

  it('tells the certificate of the event that completed a course, after its XP and badge', async () => {
    const res = await t.gql('mutation($l: ID) { enroll(courseId: "evc", learnerId: $l) { id } }', { variables: { l: 'ev-cat' }, token: service });
    expect(res.errors).toBeUndefined();
    await t.app.settle();
    const cat = await myEvents('ev-cat');
    expect(await complete('ev-cat', 'evc-l1')).toBe(60);
    await cat.waitFor(4);
    const [lesson, badgeXp, badge, certificate] = events(cat);
    expect([lesson, badgeXp]).toMatchObject([
      { __typename: 'XpAwarded', amount: 10, totalXp: 10, reason: 'lesson_completed' },
      { __typename: 'XpAwarded', amount: 50, totalXp: 60, reason: 'badge_unlocked' },
    ]);
    expect(badge).toMatchObject({ __typename: 'BadgeUnlocked', award: { badge: { id: 'ev-first' } } });
    expect(certificate).toMatchObject({ __typename: 'CertificateIssued', certificate: { course: { id: 'evc' } } });
    // The same certificate the learner reads, issued at the event's time.
    const me = await t.gql('{ me { certificates { code issuedAt } } }', { token: await tokenFor('ev-cat') });
    expect(me.data!.me.certificates).toEqual([{ code: certificate.certificate.code, issuedAt: certificate.certificate.issuedAt }]);
    expect(certificate.certificate.issuedAt).toBe(lesson.occurredAt);
    await cat.close();
  });

  it('refuses a caller without a token, and a service token (it names no learner)', async () => {
    const anonymous = await subscribe(t.wsUrl, 'subscription { myEvents { __typename } }');
    await eventually(() => anonymous.errors.length > 0, 5000, 'an error');
    expect(JSON.stringify(anonymous.errors)).toMatch(/UNAUTHENTICATED/);
    await anonymous.close();

    const machine = await subscribe(t.wsUrl, 'subscription { myEvents { __typename } }', { token: service });
    await eventually(() => machine.errors.length > 0, 5000, 'an error');
    expect(JSON.stringify(machine.errors)).toMatch(/FORBIDDEN/);
    expect(JSON.stringify(machine.errors)).toMatch(/learner token/);
    expect(t.app.services.feeds.learner.listening('lms')).toBe(false);
    await machine.close();
  });
});
