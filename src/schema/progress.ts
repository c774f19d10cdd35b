import type { LessonCompletion, WatchProgress } from '../domain/progress/service';
import { streakNow } from '../domain/engagement/facts';
import { builder } from './builder';
import { StreakRef } from './streak';
import { CertificateRef, certificateView } from './certificates';
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
    streak: t.field({
      type: StreakRef,
      description: "The learner's streak after this completion.",
      resolve: async (c, _a, ctx) => c.streak ?? streakNow(await ctx.loaders.engagement.load(c.learnerId), ctx.services.clock.now()),
    }),
    certificateIssued: t.field({
      type: CertificateRef,
      nullable: true,
      description: 'The certificate this completion issued by completing the course; null otherwise.',
      resolve: (c) => (c.certificate ? certificateView(c.certificate) : null),
    }),
  }),
});

const WatchProgressRef = builder.objectRef<WatchProgress>('WatchProgress').implement({
  fields: (t) => ({
    lessonId: t.exposeID('lessonId'),
    watchTimeSeconds: t.exposeInt('watchTimeSeconds', { description: "The lesson's watched seconds in all, after this call." }),
    completed: t.exposeBoolean('completed'),
    completion: t.field({
      type: LessonCompletionRef,
      nullable: true,
      description: 'Present when this call completed the lesson.',
      resolve: (w) => w.completion,
    }),
  }),
});

const EVENT_ID = 'Your id for this action (e.g. a UUID): a retry with the same id returns the first result instead of an error.';

builder.mutationFields((t) => ({
  enroll: t.field({
    type: EnrollmentRef,
    description: 'Enroll the signed-in learner (or, for service/admin callers, learnerId) in a course.',
    authScopes: { learner: true },
    args: { courseId: t.arg.id({ required: true }), learnerId: t.arg.id(), eventId: t.arg.id({ description: EVENT_ID }) },
    resolve: async (_r, args, ctx) => ctx.services.progress.enroll(await ctx.services.limits.actingFor(ctx.viewer, args.learnerId, 'enroll'), args.courseId, args.eventId),
  }),
  completeLesson: t.field({
    type: LessonCompletionRef,
    description: "Complete a lesson; pays the lesson's XP exactly once.",
    authScopes: { learner: true },
    args: { lessonId: t.arg.id({ required: true }), learnerId: t.arg.id(), eventId: t.arg.id({ description: EVENT_ID }) },
    resolve: async (_r, args, ctx) =>
      ctx.services.progress.completeLesson(await ctx.services.limits.actingFor(ctx.viewer, args.learnerId, 'completeLesson'), args.lessonId, args.eventId),
  }),
  recordWatchTime: t.field({
    type: WatchProgressRef,
    description: 'Add watched seconds to a lesson; a video lesson completes itself at 90% of its duration.',
    authScopes: { learner: true },
    args: {
      lessonId: t.arg.id({ required: true }),
      seconds: t.arg.int({ required: true }),
      learnerId: t.arg.id(),
      eventId: t.arg.id({ description: EVENT_ID }),
    },
    resolve: async (_r, args, ctx) =>
      ctx.services.progress.recordWatchTime(await ctx.services.limits.actingFor(ctx.viewer, args.learnerId, 'recordWatchTime'), args.lessonId, args.seconds, args.eventId),
  }),
}));
