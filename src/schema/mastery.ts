import { catalogId } from '../domain/catalog/input';
import type { TopicMastery } from '../domain/progress/rules';
import { parseInput } from '../domain/validation';
import { builder } from './builder';
import { LearnerRef } from './learner';

const TopicMasteryRef = builder.objectRef<TopicMastery>('TopicMastery').implement({
  description:
    'How well a learner knows one module. mastery = 0.5 x lessonCompletionRate + 0.5 x (sum of the best scores of all its quizzes, an unattempted one counting 0) / (100 x quizzes); a module without quizzes is its lessonCompletionRate, one without lessons its quiz part alone.',
  fields: (t) => ({
    moduleId: t.exposeID('moduleId'),
    title: t.exposeString('title'),
    lessonCompletionRate: t.exposeFloat('lessonCompletionRate', { description: '0..1: completed lessons of the module / its lessons.' }),
    averageQuizScore: t.exposeFloat('averageQuizScore', { nullable: true, description: "Mean of the best scores of the module's attempted quizzes; null before any attempt." }),
    mastery: t.exposeFloat('mastery', { description: '0..1' }),
  }),
});

builder.objectField(LearnerRef, 'topicMastery', (t) =>
  t.field({
    type: [TopicMasteryRef],
    description: 'Mastery per module of one course, or of every enrolled course (in enrollment order) without courseId.',
    args: { courseId: t.arg.id() },
    resolve: (s, args, ctx) =>
      ctx.services.progress.topicMastery(
        s.id,
        args.courseId === null || args.courseId === undefined ? null : parseInput(catalogId, args.courseId, 'courseId'),
        () => ctx.loaders.enrollments.load(s.id),
      ),
  }),
);
