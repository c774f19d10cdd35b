import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCertificateCode } from '../src/domain/progress/certificates';
import { verifyStores } from '../src/store/verify';
import { destroyTestEnv, eventually, makeCourse, newTestEnv, startTestApp, tokenFor, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;
let service: string;

// Course "ct": one module, 2 lessons (l1 a 300 s VIDEO, l2 READING; 50 XP each) and 1 quiz
// (pass at 70, 40 XP). Course "cn": 2 lessons, no quiz.
const [L1, L2, Q1] = ['ct-l1', 'ct-l2', 'ct-m1-q1'];
const COMPLETE = 'mutation($l: ID!, $who: ID, $id: ID) { completeLesson(lessonId: $l, learnerId: $who, eventId: $id) { xpAwarded enrollment { completedAt } certificateIssued { code course { id } } } }';
const SUBMIT = 'mutation($q: ID!, $s: Int!, $who: ID, $id: ID) { submitQuizAttempt(quizId: $q, score: $s, learnerId: $who, eventId: $id) { xpAwarded certificateIssued { code course { id } } } }';
const WATCH = 'mutation($l: ID!, $s: Int!, $who: ID) { recordWatchTime(lessonId: $l, seconds: $s, learnerId: $who) { completed } }';
const MINE = '{ me { certificates { id code learnerId issuedAt course { id title } } enrollments { course { id } completedAt } } }';
const LOOKUP = 'query($c: String!) { certificate(code: $c) { id code learnerId issuedAt course { id title } } }';

async function enroll(learnerId: string, courseId = 'ct') {
  const res = await t.gql('mutation($c: ID!, $l: ID) { enroll(courseId: $c, learnerId: $l) { id } }', { variables: { c: courseId, l: learnerId }, token: service });
  expect(res.errors).toBeUndefined();
}

async function complete(learnerId: string, lessonId: string, eventId?: string) {
  return t.gql(COMPLETE, { variables: { l: lessonId, who: learnerId, id: eventId }, token: service });
}

async function submit(learnerId: string, quizId: string, score: number, eventId?: string) {
  return t.gql(SUBMIT, { variables: { q: quizId, s: score, who: learnerId, id: eventId }, token: service });
}

interface Mine {
  certificates: { id: string; code: string; learnerId: string; issuedAt: string; course: { id: string; title: string } }[];
  enrollments: { course: { id: string }; completedAt: string | null }[];
}

async function mine(learnerId: string): Promise<Mine> {
  const res = await t.gql(MINE, { token: await tokenFor(learnerId) });
  expect(res.errors).toBeUndefined();
  return res.data!.me as Mine;
}

const lookup = async (code: string) => {
  const res = await t.gql(LOOKUP, { variables: { c: code } });
  expect(res.errors).toBeUndefined();
  return res.data!.certificate as { code: string; learnerId: string; issuedAt: string; course: { id: string } } | null;
};

const certificateRows = async (learnerId: string) =>
  (await t.app.orm.em.getKnex()('certificates').select('code', 'course_id').where('learner_id', learnerId)) as { code: string; course_id: string }[];

const verify = () => verifyStores({ redis: t.app.redis, keys: t.app.keys, hot: t.app.hot, repo: t.app.learnerRepo }, { recheckDelayMs: 200 });

beforeAll(async () => {
  t = await startTestApp(env);
  service = await tokenFor('lms', ['service']);
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'ct', modules: 1, lessons: 2, quizzes: 1, xp: 50 }));
  await t.app.services.catalog.upsertCourse(makeCourse({ id: 'cn', modules: 1, lessons: 2 }));
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('course completion and certificates', () => {
  it('completes the course on the last lesson after the quiz, once, with a public certificate', async () => {
    const id = 'ct-ana';
    await enroll(id);
    expect((await complete(id, L1)).data!.completeLesson.enrollment.completedAt).toBeNull();
    expect((await submit(id, Q1, 50)).data!.submitQuizAttempt.xpAwarded).toBe(0);
    expect((await submit(id, Q1, 80)).data!.submitQuizAttempt.xpAwarded).toBe(40);
    expect((await mine(id)).certificates).toEqual([]);
    const last = await complete(id, L2, 'ana-last');
    expect(last.errors).toBeUndefined();
    const completedAt = last.data!.completeLesson.enrollment.completedAt as string;
    expect(completedAt).not.toBeNull();

    // The learner sees it at once, before the write-behind.
    const m = await mine(id);
    expect(m.certificates).toHaveLength(1);
    const cert = m.certificates[0]!;
    expect(isCertificateCode(cert.code)).toBe(true);
    expect(cert).toMatchObject({ id: cert.code, learnerId: id, issuedAt: completedAt, course: { id: 'ct', title: 'Course ct' } });
    expect(m.enrollments.find((e) => e.course.id === 'ct')!.completedAt).toBe(completedAt);
    // The call that completed the course says so; its retry answers the same.
    expect(last.data!.completeLesson.certificateIssued).toEqual({ code: cert.code, course: { id: 'ct' } });
    const again = await complete(id, L2, 'ana-last');
    expect(again.data!.completeLesson).toEqual(last.data!.completeLesson);

    // A retake after completion changes nothing about it.
    await submit(id, Q1, 95);
    expect((await mine(id)).certificates).toEqual([cert]);

    // Anyone can verify it by code once written behind, typed loosely too.
    const found = await eventually(() => lookup(cert.code), 5000, 'certificate written behind');
    expect(found).toMatchObject({ code: cert.code, learnerId: id, issuedAt: completedAt, course: { id: 'ct' } });
    expect(await lookup(`  ${cert.code.toLowerCase().replace(/1/g, 'l').replace(/0/g, 'o')} `)).toMatchObject({ code: cert.code });
    expect(await certificateRows(id)).toEqual([{ code: cert.code, course_id: 'ct' }]);
    const h = await t.app.redis.hgetall(t.app.keys.learner(id));
    expect(h).toMatchObject({ 'crt:ct': cert.code, crs: '1', 'ec:ct': String(Date.parse(completedAt)) });
  });

  it('completes on the quiz pass when the lessons came first, and on a watch that completes the last lesson', async () => {
    const a = 'ct-ben';
    await enroll(a);
    await complete(a, L1);
    await complete(a, L2);
    expect((await submit(a, Q1, 10)).data!.submitQuizAttempt.certificateIssued).toBeNull();
    expect((await mine(a)).certificates).toEqual([]);
    expect((await submit(a, Q1, 70)).data!.submitQuizAttempt.certificateIssued).toMatchObject({ course: { id: 'ct' } });
    expect((await mine(a)).certificates.map((c) => c.course.id)).toEqual(['ct']);

    const b = 'ct-cat';
    await enroll(b);
    await complete(b, L2);
    await submit(b, Q1, 100);
    const w = await t.gql(WATCH, { variables: { l: L1, s: 270, who: b }, token: service });
    expect(w.data!.recordWatchTime.completed).toBe(true);
    expect((await mine(b)).certificates.map((c) => c.course.id)).toEqual(['ct']);
  });

  it('completes a course without quizzes on its last lesson, and never a course not finished', async () => {
    const id = 'ct-dan';
    await enroll(id, 'cn');
    await enroll(id, 'ct');
    await complete(id, 'cn-l1');
    await complete(id, L1);
    expect((await mine(id)).certificates).toEqual([]);
    await complete(id, 'cn-l2');
    const m = await mine(id);
    expect(m.certificates.map((c) => c.course.id)).toEqual(['cn']);
    expect(m.enrollments.find((e) => e.course.id === 'ct')!.completedAt).toBeNull();
  });

  it('issues exactly one certificate under 20 concurrent finishing events', async () => {
    const id = 'ct-eve';
    await enroll(id);
    await complete(id, L1);
    // The learner finishes L2 and passes the quiz in 20 racing calls (10 each, distinct event ids).
    const calls = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? complete(id, L2, `fin-l-${i}`) : submit(id, Q1, 90, `fin-q-${i}`))),
    );
    const issued = calls.map((r) => r.data?.completeLesson?.certificateIssued ?? r.data?.submitQuizAttempt?.certificateIssued).filter(Boolean);
    expect(issued).toHaveLength(1);
    const paidLesson = calls.filter((r) => r.data?.completeLesson?.xpAwarded === 50).length;
    expect(paidLesson).toBe(1);
    expect(calls.filter((r) => r.errors?.[0]?.extensions?.code === 'ALREADY_COMPLETED')).toHaveLength(9);
    const m = await mine(id);
    expect(m.certificates).toHaveLength(1);
    expect((await t.app.redis.hget(t.app.keys.learner(id), 'crs'))).toBe('1');
    await t.app.settle();
    expect(await certificateRows(id)).toEqual([{ code: m.certificates[0]!.code, course_id: 'ct' }]);
    // The entries carry one certificate between them.
    const events = (await t.app.orm.em.getKnex()('learner_events').select('payload').where('learner_id', id)) as { payload: { crt?: unknown } }[];
    expect(events.filter((e) => e.payload.crt)).toHaveLength(1);
  });

  it('gives 20 learners finishing at once 20 different codes', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `ct-many-${i}`);
    for (const id of ids) {
      await enroll(id, 'cn');
      await complete(id, 'cn-l1');
    }
    await Promise.all(ids.map((id) => complete(id, 'cn-l2')));
    const codes = await Promise.all(ids.map(async (id) => (await mine(id)).certificates[0]!.code));
    expect(new Set(codes).size).toBe(20);
  });

  it('checks the course as it is now: a quiz replaced after passes does not complete it', async () => {
    const course = makeCourse({ id: 'ce', modules: 1, lessons: 1, quizzes: 2 });
    await t.app.services.catalog.upsertCourse(course);
    const id = 'ct-fay';
    await enroll(id, 'ce');
    await submit(id, 'ce-m1-q1', 90);
    await submit(id, 'ce-m1-q2', 90);
    // The edit drops q2 and adds q3: two quizzes still, two passed (cq:ce = 2), but q3 is not passed.
    const m1 = course.modules[0]!;
    m1.quizzes = [m1.quizzes![0]!, { id: 'ce-m1-q3', title: 'Quiz 3', passScore: 70, xpReward: 40 }];
    await t.app.services.catalog.upsertCourse(course);
    await complete(id, 'ce-l1');
    expect((await mine(id)).certificates).toEqual([]);
    await submit(id, 'ce-m1-q3', 75);
    expect((await mine(id)).certificates.map((c) => c.course.id)).toEqual(['ce']);
  });

  it('answers null for unknown and malformed codes without an error', async () => {
    expect(await lookup('CERT-00000-00000-00000-00000-000000')).toBeNull();
    expect(await lookup('not a code')).toBeNull();
    expect(await lookup('x'.repeat(10_000))).toBeNull();
    expect(await lookup("CERT-'; drop table certificates; --")).toBeNull();
  });

  it('keeps completion and code through a reload from Postgres, and verify agrees', async () => {
    const id = 'ct-ana';
    const before = (await mine(id)).certificates;
    await t.app.settle();
    await t.app.redis.del(t.app.keys.learner(id));
    expect((await mine(id)).certificates).toEqual(before);
    expect(await t.app.redis.hget(t.app.keys.learner(id), 'crs')).toBe('1');
    await t.app.settle();
    const clean = await verify();
    expect(clean.drift.map((d) => `${d.learnerId}: ${d.what}`)).toEqual([]);

    await t.app.redis.hset(t.app.keys.learner(id), 'crt:ct', 'CERT-7ZZZZ-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZZ');
    const report = await verify();
    expect(report.drift.map((d) => d.learnerId)).toEqual([id]);
    expect(report.drift[0]!.what).toMatch(/course ct certificate: Redis CERT-7ZZZZ/);
    await t.app.redis.hset(t.app.keys.learner(id), 'crt:ct', before[0]!.code);
  });
});
