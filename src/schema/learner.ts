import { z } from 'zod';
import { learnerId, requireViewer } from '../domain/auth/viewer';
import type { Badge } from '../domain/catalog/types';
import type { EnrollmentState, LearnerState, XpTransaction } from '../domain/learners/state';
import { encodeCursor, MAX_PAGE } from '../domain/learners/service';
import { levelOf, type LevelProgress } from '../domain/levels/rules';
import { courseProgress, type CourseProgress } from '../domain/progress/rules';
import { parseInput } from '../domain/validation';
import { builder } from './builder';
import { BadgeRef, CourseRef } from './catalog';
import type { Context } from './context';

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
    watchTimeSeconds: t.exposeInt('watchTimeSeconds'),
    percentage: t.exposeFloat('percentage', { description: 'completedLessons / totalLessons x 100.' }),
    completionRate: t.exposeFloat('completionRate', {
      description: '0..1: half lessons completed, half quizzes passed (all lessons when there is no quiz).',
    }),
  }),
});

/** An enrollment together with the learner state it was read from. */
export interface EnrollmentView {
  enrollment: EnrollmentState;
  state: LearnerState;
}

export const EnrollmentRef = builder.objectRef<EnrollmentView>('Enrollment').implement({
  fields: (t) => ({
    id: t.id({ resolve: (e) => e.enrollment.id }),
    learnerId: t.id({ resolve: (e) => e.state.id }),
    course: t.field({
      type: CourseRef,
      resolve: (e, _a, ctx) => {
        const course = ctx.services.catalog.get().course(e.enrollment.courseId);
        // A course is never deleted through the API; an empty shell keeps old enrollments readable.
        return course ?? { id: e.enrollment.courseId, title: e.enrollment.courseId, description: null, modules: [], lessonCount: 0, quizCount: 0, totalXp: 0 };
      },
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
        return courseProgress(course, e.enrollment);
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
    occurredAt: t.field({ type: 'DateTime', resolve: (x) => x.occurredAt }),
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
export function badgeAwards(state: LearnerState, ctx: Context): BadgeAwardView[] {
  const catalog = ctx.services.catalog.get();
  return [...state.badges]
    .map(([badgeId, awardedAt]) => ({ badge: catalog.badge(badgeId), learnerId: state.id, awardedAt }))
    .filter((a): a is BadgeAwardView => a.badge !== undefined)
    .sort((a, b) => a.awardedAt - b.awardedAt || (a.badge.id < b.badge.id ? -1 : 1));
}

function enrollmentsOf(state: LearnerState): EnrollmentView[] {
  return [...state.enrollments.values()]
    .sort((a, b) => a.enrolledAt - b.enrolledAt || (a.courseId < b.courseId ? -1 : 1))
    .map((enrollment) => ({ enrollment, state }));
}

const first = (max: number, def: number) => z.number().int().min(0, 'first cannot be negative.').max(max, `first is at most ${max}.`).default(def);

export const LearnerRef = builder.objectRef<LearnerState>('Learner').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.string({ nullable: true, resolve: () => null }),
    timeZone: t.string({
      description: "IANA time zone that defines the learner's days (default UTC).",
      resolve: () => 'UTC',
    }),
    totalXp: t.exposeInt('totalXp'),
    level: t.field({ type: LevelProgressRef, resolve: (s, _a, ctx) => levelOf(s.totalXp, ctx.services.catalog.get().levels) }),
    enrollments: t.field({ type: [EnrollmentRef], resolve: (s) => enrollmentsOf(s) }),
    enrollment: t.field({
      type: EnrollmentRef,
      nullable: true,
      args: { courseId: t.arg.id({ required: true }) },
      resolve: (s, { courseId }) => {
        const enrollment = s.enrollments.get(courseId);
        return enrollment ? { enrollment, state: s } : null;
      },
    }),
    badges: t.field({ type: [BadgeAwardRef], resolve: (s, _a, ctx) => badgeAwards(s, ctx) }),
    xpHistory: t.field({
      type: XpConnectionRef,
      description: 'Every XP award with its reason, newest first.',
      args: { first: t.arg.int({ defaultValue: 20 }), after: t.arg.string() },
      resolve: (s, args, ctx) =>
        ctx.services.learners.xpHistory(s.id, parseInput(first(MAX_PAGE, 20), args.first ?? undefined, 'first'), args.after ?? null),
    }),
  }),
});

export const PublicLearnerRef = builder.objectRef<LearnerState>('PublicLearner').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.string({ nullable: true, resolve: () => null }),
    totalXp: t.exposeInt('totalXp'),
    level: t.field({ type: LevelProgressRef, resolve: (s, _a, ctx) => levelOf(s.totalXp, ctx.services.catalog.get().levels) }),
    badges: t.field({ type: [BadgeAwardRef], resolve: (s, _a, ctx) => badgeAwards(s, ctx) }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: LearnerRef,
    description: 'The signed-in learner. UNAUTHENTICATED without a valid token.',
    authScopes: { learner: true },
    resolve: (_r, _a, ctx) => ctx.services.learners.me(requireViewer(ctx.viewer).id),
  }),
  learner: t.field({
    type: PublicLearnerRef,
    nullable: true,
    description: 'The public face of any learner (for leaderboards and sharing).',
    args: { id: t.arg.id({ required: true }) },
    // An id no learner could have is simply nobody.
    resolve: (_r, { id }, ctx) => (learnerId.safeParse(id).success ? ctx.loaders.learner.load(id) : null),
  }),
}));
