import { activityCursor, describeActivity, statsOf, type ActivityDay, type ActivityRecord, type LearnerStats } from '../domain/activity/service';
import { builder } from './builder';
import { saturatedInt } from './scalars';
import type { Context } from './context';
import { LearnerRef, PageInfoRef } from './learner';

/**
 * `Learner.stats`, `activityCalendar` and `recentActivity`. All three wait on the request's
 * `activityTotals` loader, the read-your-writes barrier (Postgres holds the learner's last
 * change), paid once per request however many of them a query asks.
 */

const LearnerStatsRef = builder.objectRef<LearnerStats>('LearnerStats').implement({
  fields: (t) => ({
    // Sums over every lesson watched: GraphQL's Int is 32-bit, so it saturates rather than fail.
    totalWatchTimeSeconds: t.int({ resolve: (s) => saturatedInt(s.totalWatchTimeSeconds) }),
    videosCompleted: t.exposeInt('videosCompleted'),
    lessonsCompleted: t.exposeInt('lessonsCompleted'),
    quizzesTaken: t.exposeInt('quizzesTaken'),
    quizzesPassed: t.exposeInt('quizzesPassed'),
    averageQuizScore: t.exposeFloat('averageQuizScore', { nullable: true, description: "Mean of each quiz's best score; null before any attempt." }),
    activeDays: t.exposeInt('activeDays'),
    sessions: t.exposeInt('sessions'),
    totalTimeSeconds: t.exposeInt('totalTimeSeconds'),
    coursesEnrolled: t.exposeInt('coursesEnrolled'),
    coursesCompleted: t.exposeInt('coursesCompleted'),
    completionRate: t.exposeFloat('completionRate', { description: '0..1 across all enrolled courses.' }),
  }),
});

const ActivityDayRef = builder.objectRef<ActivityDay>('ActivityDay').implement({
  fields: (t) => ({
    date: t.field({ type: 'Date', resolve: (d) => d.date }),
    xp: t.exposeInt('xp'),
    events: t.exposeInt('events'),
    timeSpentSeconds: t.exposeInt('timeSpentSeconds'),
  }),
});

const ActivityRef = builder.objectRef<ActivityRecord>('Activity').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    type: t.exposeString('type', { description: 'The event kind: ENROLLED, LESSON_COMPLETED, WATCHED, QUIZ_ATTEMPTED, ACCESSED.' }),
    description: t.string({ resolve: (a, _args, ctx) => describeActivity(a, ctx.services.catalog.get()) }),
    occurredAt: t.field({ type: 'DateTime', resolve: (a) => a.occurredAt }),
    xp: t.exposeInt('xp', { nullable: true, description: "XP the event paid (its own and its badges'); null when it paid nothing." }),
  }),
});

const ActivityEdgeRef = builder.objectRef<ActivityRecord>('ActivityEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (a) => activityCursor(a) }),
    node: t.field({ type: ActivityRef, resolve: (a) => a }),
  }),
});

const ActivityConnectionRef = builder.objectRef<{ items: ActivityRecord[]; hasNextPage: boolean }>('ActivityConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [ActivityEdgeRef], resolve: (c) => c.items }),
    pageInfo: t.field({
      type: PageInfoRef,
      resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.items.length ? activityCursor(c.items[c.items.length - 1]!) : null }),
    }),
  }),
});

const barrier = (learnerId: string, ctx: Context) => () => ctx.loaders.activityTotals.load(learnerId);

builder.objectFields(LearnerRef, (t) => ({
  stats: t.field({
    type: LearnerStatsRef,
    resolve: async (s, _a, ctx) => {
      const [counters, enrollments, totals] = await Promise.all([
        ctx.loaders.statCounters.load(s.id),
        ctx.loaders.enrollments.load(s.id),
        ctx.loaders.activityTotals.load(s.id),
      ]);
      return statsOf(counters, enrollments, totals, ctx.services.catalog.get());
    },
  }),
  activityCalendar: t.field({
    type: [ActivityDayRef],
    description: 'Every day from `from` to `to` (at most 366), zero-filled: XP, events and time per learning day.',
    args: { from: t.arg({ type: 'Date', required: true }), to: t.arg({ type: 'Date', required: true }) },
    resolve: (s, args, ctx) => ctx.services.activity.calendar(s.id, args.from, args.to, barrier(s.id, ctx)),
  }),
  recentActivity: t.field({
    type: ActivityConnectionRef,
    description: 'What the learner did, newest first (first at most 100).',
    args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
    resolve: (s, args, ctx) => ctx.services.activity.recent(s.id, args.first, args.after, barrier(s.id, ctx)),
  }),
}));
