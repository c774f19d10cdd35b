import { z } from 'zod';
import { learnerId, requireViewer } from '../domain/auth/viewer';
import type { Badge } from '../domain/catalog/types';
import type { EnrollmentState, XpTransaction } from '../domain/learners/state';
import { encodeCursor, MAX_PAGE } from '../domain/learners/service';
import { levelOf, type LevelProgress } from '../domain/levels/rules';
import { courseProgress, type CourseProgress } from '../domain/progress/rules';
import { parseInput } from '../domain/validation';
import { streakNow, zoneNow } from '../domain/engagement/facts';
import { builder } from './builder';
import { StreakRef } from './streak';
import { saturatedInt } from './scalars';
import { BadgeRef, CourseRef, courseOrShell } from './catalog';
import type { Context } from './context';

/** What a Learner or PublicLearner object carries: its id; every field loads its own part. */
export interface LearnerSource {
  id: string;
}

export const LevelProgressRef = builder.objectRef<LevelProgress>('LevelProgress').implement({
  fields: (t) => ({
    level: t.exposeInt('level'),
    name: t.exposeString('name', { nullable: true }),
    minXp: t.exposeInt('minXp'),
    nextLevelXp: t.exposeInt('nextLevelXp', {
      nullable: true,
      description: 'XP at which the next level starts; null at the top of a finite table.',
    }),
    progress: t.exposeFloat('progress', { description: '0..1 of the way from minXp to nextLevelXp.' }),
  }),
});

export const CourseProgressRef = builder.objectRef<CourseProgress>('CourseProgress').implement({
  fields: (t) => ({
    totalLessons: t.exposeInt('totalLessons'),
    completedLessons: t.exposeInt('completedLessons'),
    totalQuizzes: t.exposeInt('totalQuizzes'),
    passedQuizzes: t.exposeInt('passedQuizzes'),
    // A sum over the course's lessons: GraphQL's Int is 32-bit, so it saturates rather than fail.
    watchTimeSeconds: t.int({ resolve: (p) => saturatedInt(p.watchTimeSeconds) }),
    percentage: t.exposeFloat('percentage', { description: 'completedLessons / totalLessons x 100.' }),
    completionRate: t.exposeFloat('completionRate', {
      description: '0..1: half lessons completed, half quizzes passed (all lessons when there is no quiz).',
    }),
  }),
});

/** An enrollment with the learner it belongs to. */
export interface EnrollmentView {
  enrollment: EnrollmentState;
  learnerId: string;
}

export const EnrollmentRef = builder.objectRef<EnrollmentView>('Enrollment').implement({
  fields: (t) => ({
    id: t.id({ resolve: (e) => e.enrollment.id }),
    learnerId: t.id({ resolve: (e) => e.learnerId }),
    course: t.field({
      type: CourseRef,
      resolve: (e, _a, ctx) => courseOrShell(ctx.services.catalog.get(), e.enrollment.courseId),
    }),
    enrolledAt: t.field({ type: 'DateTime', resolve: (e) => e.enrollment.enrolledAt }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.enrollment.completedAt }),
    xpEarned: t.int({ resolve: (e) => e.enrollment.xpEarned }),
    progress: t.field({
      type: CourseProgressRef,
      resolve: (e, _a, ctx) => {
        const course = ctx.services.catalog.get().course(e.enrollment.courseId);
        if (!course) {
          return { totalLessons: 0, completedLessons: 0, totalQuizzes: 0, passedQuizzes: 0, watchTimeSeconds: 0, percentage: 0, completionRate: 0 };
        }
        return courseProgress(course, e.enrollment, { passedQuizzes: e.enrollment.quizzesPassed, watchTimeSeconds: e.enrollment.watchSeconds });
      },
    }),
  }),
});

/** A badge a learner holds. */
export interface BadgeAwardView {
  badge: Badge;
  learnerId: string;
  awardedAt: number;
}

export const BadgeAwardRef = builder.objectRef<BadgeAwardView>('BadgeAward').implement({
  fields: (t) => ({
    badge: t.field({ type: BadgeRef, resolve: (a) => a.badge }),
    learnerId: t.exposeID('learnerId'),
    awardedAt: t.field({ type: 'DateTime', resolve: (a) => a.awardedAt }),
  }),
});

export const PageInfoRef = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

const XpTransactionRef = builder.objectRef<XpTransaction>('XpTransaction').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    amount: t.exposeInt('amount'),
    reason: t.exposeString('reason'),
    sourceId: t.exposeID('sourceId', { nullable: true }),
    occurredAt: t.field({ type: 'DateTime', description: "When the event that paid it happened (the caller's time for events).", resolve: (x) => x.occurredAt }),
  }),
});

const XpEdgeRef = builder.objectRef<XpTransaction>('XpEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (x) => encodeCursor(x) }),
    node: t.field({ type: XpTransactionRef, resolve: (x) => x }),
  }),
});

const XpConnectionRef = builder.objectRef<{ items: XpTransaction[]; hasNextPage: boolean }>('XpConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [XpEdgeRef], resolve: (c) => c.items }),
    pageInfo: t.field({
      type: PageInfoRef,
      resolve: (c) => ({
        hasNextPage: c.hasNextPage,
        endCursor: c.items.length ? encodeCursor(c.items[c.items.length - 1]!) : null,
      }),
    }),
  }),
});

/** Badges a learner holds, oldest first; badges removed from the catalog are left out. */
export async function badgeAwards(learner: string, ctx: Context): Promise<BadgeAwardView[]> {
  const held = await ctx.loaders.badges.load(learner);
  const catalog = ctx.services.catalog.get();
  return [...held]
    .map(([badgeId, awardedAt]) => ({ badge: catalog.badge(badgeId), learnerId: learner, awardedAt }))
    .filter((a): a is BadgeAwardView => a.badge !== undefined)
    .sort((a, b) => a.awardedAt - b.awardedAt || (a.badge.id < b.badge.id ? -1 : 1));
}

async function enrollmentsOf(learner: string, ctx: Context): Promise<EnrollmentView[]> {
  const list = await ctx.loaders.enrollments.load(learner);
  return [...list]
    .sort((a, b) => a.enrolledAt - b.enrolledAt || (a.courseId < b.courseId ? -1 : 1))
    .map((enrollment) => ({ enrollment, learnerId: learner }));
}

async function totalXpOf(learner: string, ctx: Context): Promise<number> {
  return (await ctx.loaders.counters.load(learner))?.totalXp ?? 0;
}

const first = (max: number, def: number) => z.number().int().min(0, 'first cannot be negative.').max(max, `first is at most ${max}.`).default(def);

export const LearnerRef = builder.objectRef<LearnerSource>('Learner').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.string({ nullable: true, resolve: async (s, _a, ctx) => (await ctx.loaders.engagement.load(s.id)).displayName }),
    timeZone: t.string({
      description: "IANA time zone that defines the learner's days (default UTC).",
      resolve: async (s, _a, ctx) => zoneNow(await ctx.loaders.engagement.load(s.id)),
    }),
    streak: t.field({
      type: StreakRef,
      description: 'Consecutive learning days, from the set of active days (late events included), with freezes.',
      resolve: async (s, _a, ctx) => streakNow(await ctx.loaders.engagement.load(s.id), ctx.services.clock.now()),
    }),
    totalXp: t.int({ resolve: (s, _a, ctx) => totalXpOf(s.id, ctx) }),
    level: t.field({ type: LevelProgressRef, resolve: async (s, _a, ctx) => levelOf(await totalXpOf(s.id, ctx), ctx.services.catalog.get().levels) }),
    enrollments: t.field({ type: [EnrollmentRef], resolve: (s, _a, ctx) => enrollmentsOf(s.id, ctx) }),
    enrollment: t.field({
      type: EnrollmentRef,
      nullable: true,
      args: { courseId: t.arg.id({ required: true }) },
      resolve: async (s, { courseId }, ctx) => {
        const enrollment = (await ctx.loaders.enrollments.load(s.id)).find((e) => e.courseId === courseId);
        return enrollment ? { enrollment, learnerId: s.id } : null;
      },
    }),
    badges: t.field({ type: [BadgeAwardRef], resolve: (s, _a, ctx) => badgeAwards(s.id, ctx) }),
    xpHistory: t.field({
      type: XpConnectionRef,
      description: 'Every XP award with its reason, newest first.',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: (s, args, ctx) =>
        ctx.services.learners.xpHistory(s.id, parseInput(first(MAX_PAGE, 20), args.first ?? undefined, 'first'), args.after ?? null),
    }),
  }),
});

export const PublicLearnerRef = builder.objectRef<LearnerSource>('PublicLearner').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.string({ nullable: true, resolve: async (s, _a, ctx) => (await ctx.loaders.engagement.load(s.id)).displayName }),
    streak: t.field({ type: StreakRef, resolve: async (s, _a, ctx) => streakNow(await ctx.loaders.engagement.load(s.id), ctx.services.clock.now()) }),
    totalXp: t.int({ resolve: (s, _a, ctx) => totalXpOf(s.id, ctx) }),
    level: t.field({ type: LevelProgressRef, resolve: async (s, _a, ctx) => levelOf(await totalXpOf(s.id, ctx), ctx.services.catalog.get().levels) }),
    badges: t.field({ type: [BadgeAwardRef], resolve: (s, _a, ctx) => badgeAwards(s.id, ctx) }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: LearnerRef,
    description: 'The signed-in learner. UNAUTHENTICATED without a valid token.',
    authScopes: { learner: true },
    // Fields load what they need; a learner nobody has seen yet reads as zeros.
    resolve: (_r, _a, ctx) => ({ id: requireViewer(ctx.viewer).id }),
  }),
  learner: t.field({
    type: PublicLearnerRef,
    nullable: true,
    description: 'The public face of any learner (for leaderboards and sharing).',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const learner = parseInput(learnerId, id, 'id');
      const trusted = ctx.viewer !== null && (ctx.viewer.roles.has('service') || ctx.viewer.roles.has('admin'));
      const counters = await ctx.services.learners.lookup(learner, trusted ? null : ctx.client);
      if (!counters) return null;
      // The fields below read the same counters: no second round trip.
      ctx.loaders.counters.prime(learner, counters);
      return { id: learner };
    },
  }),
}));

const ProfileInputRef = builder.inputType('ProfileInput', {
  fields: (t) => ({
    displayName: t.string({ description: 'Shown on boards: 1 to 60 characters, trimmed; null clears it.' }),
    timeZone: t.string({ description: 'An IANA zone, e.g. "Europe/Berlin". Events from now on count in its days; days already counted stay.' }),
  }),
});

builder.mutationFields((t) => ({
  updateProfile: t.field({
    type: LearnerRef,
    description: "Set the signed-in learner's display name and/or time zone (fields left out are kept).",
    authScopes: { learner: true },
    args: { input: t.arg({ type: ProfileInputRef, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const id = await ctx.services.limits.actingFor(ctx.viewer, null, 'updateProfile');
      await ctx.services.engagement.updateProfile(id, input);
      return { id };
    },
  }),
}));
