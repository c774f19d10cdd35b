/**
 * Redis memory of one learner with a year-long streak, 10 enrollments and 30 badges: the sum of
 * MEMORY USAGE over every key that holds the learner's id (their hash, the event records of
 * their caller ids, their rate-limit buckets), against a learner with one event.
 *
 *   npx tsx bench/learner-memory.ts
 *
 * Uses the test harness: its own database and key prefix on the Redis of REDIS_URL.
 */
import { destroyTestEnv, makeCourse, newTestEnv, startTestApp, tokenFor } from '../test/harness';

const DAY = 86_400_000;

async function main(): Promise<void> {
  const env = newTestEnv();
  const now = Date.now();
  const t = await startTestApp(env, { config: { RATE_LIMITS: 'false' } });
  try {
    const admin = await tokenFor('admin', ['admin']);
    const service = await tokenFor('svc', ['service']);
    const gql = async (query: string, variables: Record<string, unknown>, token = admin) => {
      const res = await t.gql(query, { variables, token });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data;
    };
    for (let c = 1; c <= 10; c += 1) await gql('mutation($c: CourseInput!) { upsertCourse(input: $c) { id } }', { c: makeCourse({ id: `mem${c}`, modules: 2, lessons: 5, quizzes: 1 }) });
    for (let b = 1; b <= 30; b += 1) {
      await gql('mutation($b: BadgeInput!) { upsertBadge(input: $b) { id } }', {
        b: { id: `mem-b${b}`, name: `Badge ${b}`, description: 'x', xpReward: 5, criteria: b % 3 === 0 ? { type: 'active_days', value: b } : b % 3 === 1 ? { type: 'xp_total', value: b * 20 } : { type: 'streak_days', value: b } },
      });
    }
    const learner = 'mem-learner';
    for (let c = 1; c <= 10; c += 1) await gql(`mutation { enroll(courseId: "mem${c}", learnerId: "${learner}") { id } }`, {}, service);
    // 365 days of activity, oldest first: a login each day and a lesson on some of them.
    const events: Record<string, unknown>[] = [];
    for (let d = 364; d >= 0; d -= 1) {
      const at = new Date(now - d * DAY).toISOString();
      events.push({ id: `login-${d}`, type: 'DAILY_LOGIN', occurredAt: at, learnerId: learner });
      if (d % 4 === 0 && events.length < 600) {
        const i = Math.floor(d / 4);
        const course = 1 + (i % 10);
        const lesson = 1 + (Math.floor(i / 10) % 10);
        events.push({ id: `lesson-${d}`, type: 'LESSON_COMPLETED', occurredAt: at, learnerId: learner, lessonId: `mem${course}-l${lesson}` });
      }
    }
    for (let i = 0; i < events.length; i += 500) {
      await gql('mutation($e: [LearningEventInput!]!) { recordEvents(events: $e) { accepted rejected { code message } } }', { e: events.slice(i, i + 500) }, service);
    }
    await gql(`mutation { enroll(courseId: "mem1", learnerId: "mem-one") { id } }`, {}, service);
    const redis = t.app.redis;
    const usage = async (id: string) => {
      let bytes = 0;
      let keys = 0;
      const hash = t.app.keys.learner(id);
      const tag = hash.slice(0, hash.indexOf('}') + 1);
      let cursor = '0';
      do {
        const [next, found] = (await redis.scan(cursor, 'MATCH', `${tag}*`, 'COUNT', 1000)) as [string, string[]];
        cursor = next;
        for (const key of found) {
          if (!key.includes(id)) continue;
          bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
          keys += 1;
        }
      } while (cursor !== '0');
      const hashBytes = Number((await redis.call('MEMORY', 'USAGE', hash, 'SAMPLES', '0')) ?? 0);
      return { keys, bytes, hashBytes, eventRecordBytes: bytes - hashBytes, fields: await redis.hlen(hash), encoding: await redis.call('OBJECT', 'ENCODING', hash) };
    };
    const me = await t.gql('{ me { totalXp streak { current longest freezesAvailable } badges { badge { id } } stats { activeDays } } }', { token: await tokenFor(learner) });
    const heavy = await usage(learner);
    const light = await usage('mem-one');
    const info = me.data!.me as { totalXp: number; streak: unknown; badges: unknown[]; stats: { activeDays: number } };
    console.log(JSON.stringify({ learner: { ...info, badges: info.badges.length }, heavy, light }, null, 2));
    console.log(
      `year-long streak, 10 enrollments, ${info.badges.length} badges: ${heavy.bytes} B in ${heavy.keys} keys: the hash ${heavy.hashBytes} B (${heavy.fields} fields, ${String(heavy.encoding)}), ` +
        `the ${heavy.keys - 1} event records of caller ids (kept EVENT_RECORD_DAYS) ${heavy.eventRecordBytes} B; one enrollment: ${light.bytes} B`,
    );
  } finally {
    await t.stop();
    await destroyTestEnv(env);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
