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
      resolve: (c) => c.badgesUnlocked.map((a) => ({ badge: a.badge, learnerId: c.learnerId, awardedAt: a.awardedAt })),
    }),
    enrollment: t.field({ type: EnrollmentRef, resolve: (c) => ({ enrollment: c.enrollment, learnerId: c.learnerId }) }),
  }),
});

const EVENT_ID = 'Your id for this action (e.g. a UUID): a retry with the same id returns the first result instead of an error.';

builder.mutationFields((t) => ({
  enroll: t.field({
    type: EnrollmentRef,
    description: 'Enroll the signed-in learner (or, for service/admin callers, learnerId) in a course.',
    authScopes: { learner: true },
    args: { courseId: t.arg.id({ required: true }), learnerId: t.arg.id(), eventId: t.arg.id({ description: EVENT_ID }) },
    resolve: (_r, args, ctx) => ctx.services.progress.enroll(actingFor(ctx.viewer, args.learnerId), args.courseId, args.eventId),
  }),
  completeLesson: t.field({
    type: LessonCompletionRef,
    description: "Complete a lesson; pays the lesson's XP exactly once.",
    authScopes: { learner: true },
    args: { lessonId: t.arg.id({ required: true }), learnerId: t.arg.id(), eventId: t.arg.id({ description: EVENT_ID }) },
    resolve: (_r, args, ctx) => ctx.services.progress.completeLesson(actingFor(ctx.viewer, args.learnerId), args.lessonId, args.eventId),
  }),
}));
