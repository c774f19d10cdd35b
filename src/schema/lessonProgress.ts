import { catalogId } from '../domain/catalog/input';
import { decodeLessonCursor, encodeLessonCursor, lessonProgressPage, lessonsInScope, lessonsToRead, type LessonProgressNode, type LessonProgressPage } from '../domain/progress/lessons';
import { parseInput } from '../domain/validation';
import { builder } from './builder';
import { LearnerRef, PageInfoRef } from './learner';

const LessonProgressFilter = builder.inputType('LessonProgressFilter', {
  fields: (t) => ({
    courseId: t.id(),
    completed: t.boolean(),
  }),
});

const LessonProgressRef = builder.objectRef<LessonProgressNode>('LessonProgress').implement({
  fields: (t) => ({
    lessonId: t.exposeID('lessonId'),
    courseId: t.exposeID('courseId'),
    completed: t.exposeBoolean('completed'),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (n) => n.completedAt }),
    watchTimeSeconds: t.exposeInt('watchTimeSeconds'),
    updatedAt: t.field({ type: 'DateTime', resolve: (n) => n.updatedAt }),
  }),
});

const LessonProgressEdgeRef = builder.objectRef<LessonProgressNode>('LessonProgressEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (n) => encodeLessonCursor(n.position) }),
    node: t.field({ type: LessonProgressRef, resolve: (n) => n }),
  }),
});

const LessonProgressConnectionRef = builder.objectRef<LessonProgressPage>('LessonProgressConnection').implement({
  fields: (t) => ({
    totalCount: t.exposeInt('totalCount'),
    edges: t.field({ type: [LessonProgressEdgeRef], resolve: (p) => p.nodes }),
    pageInfo: t.field({
      type: PageInfoRef,
      resolve: (p) => ({ hasNextPage: p.hasNextPage, endCursor: p.nodes.length ? encodeLessonCursor(p.nodes[p.nodes.length - 1]!.position) : null }),
    }),
  }),
});

builder.objectField(LearnerRef, 'lessonProgress', (t) =>
  t.field({
    type: LessonProgressConnectionRef,
    description: 'Per-lesson progress rows, filtered and paginated.',
    args: { filter: t.arg({ type: LessonProgressFilter }), first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
    resolve: async (s, args, ctx) => {
      const courseId = args.filter?.courseId == null ? null : parseInput(catalogId, args.filter.courseId, 'filter.courseId');
      const after = args.after ? decodeLessonCursor(args.after) : null;
      const scope = lessonsInScope(ctx.services.catalog.get(), await ctx.loaders.enrollments.load(s.id), courseId);
      const options = { completed: args.filter?.completed ?? null, first: args.first ?? 20, after };
      const states = await ctx.loaders.lessonStates.load({ learnerId: s.id, lessonIds: lessonsToRead(scope, options) });
      return lessonProgressPage(scope, states, options);
    },
  }),
);
