import { actingFor } from '../domain/auth/viewer';
import type { LessonCompletion } from '../domain/progress/service';
import { builder } from './builder';
import { BadgeAwardRef, EnrollmentRef } from './learner';

const LessonCompletionRef = builder.objectRef<LessonCompletion>('LessonCompletion').implement({
  fields: (t) => ({
    lessonId: t.exposeID('lessonId'),
    xpAwarded: t.exposeInt('xpAwarded'),
    totalXp: t.exposeInt('totalXp'),
    level: t.exposeInt('level'),
    leveledUp: t.exposeBoolean('leveledUp'),
    badgesUnlocked: t.field({
      type: [BadgeAwardRef],
      resolve: (c) => c.badgesUnlocked.map((a) => ({ badge: a.badge, learnerId: c.state.id, awardedAt: a.awardedAt })),
    }),
    enrollment: t.field({ type: EnrollmentRef, resolve: (c) => ({ enrollment: c.enrollment, state: c.state }) }),
  }),
});

builder.mutationFields((t) => ({
  enroll: t.field({
    type: EnrollmentRef,
    description: 'Enroll the signed-in learner (or, for service/admin callers, learnerId) in a course.',
    authScopes: { learner: true },
    args: { courseId: t.arg.id({ required: true }), learnerId: t.arg.id() },
    resolve: async (_r, args, ctx) => {
      const learner = actingFor(ctx.viewer, args.learnerId);
      return ctx.services.progress.enroll(learner, args.courseId);
    },
  }),
  completeLesson: t.field({
    type: LessonCompletionRef,
    description: "Complete a lesson; pays the lesson's XP exactly once.",
    authScopes: { learner: true },
    args: { lessonId: t.arg.id({ required: true }), learnerId: t.arg.id() },
    resolve: (_r, args, ctx) => ctx.services.progress.completeLesson(actingFor(ctx.viewer, args.learnerId), args.lessonId),
  }),
}));
