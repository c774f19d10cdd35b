// Enroll, complete a lesson and show the learner, with every result typed.
//   TOKEN=$(npm run -s token -- alice) npx tsx examples/typed-client/example.ts <courseId> <lessonId>
import { pathToFileURL } from 'node:url';
import { createTypedClient, GraphQLRequestError } from './client';
import { CompleteLessonDocument, EnrollDocument, MeDocument, type MeQuery } from './generated/graphql';

/** Enroll in `courseId` (unless enrolled already), complete `lessonId`, and return the learner afterwards. */
export async function completeAndShow(options: { url: string; token: string; courseId: string; lessonId: string }): Promise<{ xpAwarded: number; me: MeQuery['me'] }> {
  const api = createTypedClient({ url: options.url, token: options.token });
  await api.request(EnrollDocument, { courseId: options.courseId }).catch((err: unknown) => {
    // Enrolled before (a second run of this example): go on to the lesson.
    if (!(err instanceof GraphQLRequestError && err.code === 'ALREADY_ENROLLED')) throw err;
  });
  const { completeLesson } = await api.request(CompleteLessonDocument, { lessonId: options.lessonId });
  const { me } = await api.request(MeDocument);
  return { xpAwarded: completeLesson.xpAwarded, me };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [courseId, lessonId] = process.argv.slice(2);
  const token = process.env.TOKEN;
  if (!courseId || !lessonId || !token) {
    console.error('Usage: TOKEN=$(npm run -s token -- alice) npx tsx examples/typed-client/example.ts <courseId> <lessonId>');
    process.exit(2);
  }
  try {
    const { xpAwarded, me } = await completeAndShow({ url: process.env.API_URL ?? 'http://localhost:4000/graphql', token, courseId, lessonId });
    console.log(`+${xpAwarded} XP: ${me.id} has ${me.totalXp} XP, level ${me.level.level}${me.level.name ? ` (${me.level.name})` : ''}, streak ${me.streak.current}`);
  } catch (err) {
    console.error(err instanceof GraphQLRequestError ? err.message : String(err));
    process.exit(1);
  }
}
