import { requireViewer } from '../domain/auth/viewer';
import type { BoardInfo } from '../domain/boards/rules';
import { Forbidden } from '../domain/errors';
import type { RankMove } from '../subscriptions/feeds';
import { learnerEventStream, type LearnerEventData, type XpReason } from '../subscriptions/learnerEvents';
import { unlockedAward } from './achievements';
import { builder } from './builder';
import { StreakRef, type StreakView } from './streak';
import { CertificateRef, type CertificateView } from './certificates';
import type { Context } from './context';
import { GoalKindEnum } from './events';
import { RankChangeRef } from './leaderboard';
import { BadgeAwardRef, type BadgeAwardView } from './learner';

/** One daily goal on one day. */
export interface DailyGoalView {
  kind: 'XP' | 'LESSONS' | 'WATCH_MINUTES' | 'QUIZZES';
  /** YYYY-MM-DD in the learner's zone. */
  date: string;
  target: number;
  current: number;
  completed: boolean;
}

export const DailyGoalRef = builder.objectRef<DailyGoalView>('DailyGoal').implement({
  fields: (t) => ({
    kind: t.field({ type: GoalKindEnum, resolve: (g) => g.kind }),
    date: t.field({ type: 'Date', resolve: (g) => g.date }),
    target: t.exposeInt('target'),
    current: t.exposeInt('current'),
    completed: t.exposeBoolean('completed'),
  }),
});

// Every member of LearnerEvent carries `kind`, its GraphQL type's name (resolveType reads it).
interface XpAwardedView {
  kind: 'XpAwarded';
  amount: number;
  totalXp: number;
  reason: XpReason;
  occurredAt: number;
}
interface LevelUpView {
  kind: 'LevelUp';
  level: number;
  name: string | null;
  totalXp: number;
}
interface BadgeUnlockedView {
  kind: 'BadgeUnlocked';
  award: BadgeAwardView;
}
/** Produced by the engagement issue (streaks); typed now so the union is complete. */
export interface StreakUpdatedView {
  kind: 'StreakUpdated';
  streak: StreakView;
}
/** Produced by the engagement issue (daily goals); typed now so the union is complete. */
export interface GoalCompletedView {
  kind: 'GoalCompleted';
  goal: DailyGoalView;
}
interface CertificateIssuedView {
  kind: 'CertificateIssued';
  certificate: CertificateView;
}
type RankChangeView = RankMove & { info: BoardInfo; kind: 'RankChange' };

type LearnerEventView = XpAwardedView | LevelUpView | BadgeUnlockedView | StreakUpdatedView | GoalCompletedView | CertificateIssuedView | RankChangeView;

const XpAwardedRef = builder.objectRef<XpAwardedView>('XpAwarded').implement({
  fields: (t) => ({
    amount: t.exposeInt('amount'),
    totalXp: t.exposeInt('totalXp', { description: 'The learner\'s total XP after this award.' }),
    reason: t.exposeString('reason', { description: 'As in xpHistory: lesson_completed, quiz_passed, badge_unlocked or goal_completed.' }),
    occurredAt: t.field({ type: 'DateTime', description: 'When the event that paid it happened.', resolve: (x) => x.occurredAt }),
  }),
});

const LevelUpRef = builder.objectRef<LevelUpView>('LevelUp').implement({
  description: 'The learner reached a higher level: one message with the new level, however many levels one event crossed.',
  fields: (t) => ({
    level: t.exposeInt('level'),
    name: t.exposeString('name', { nullable: true }),
    totalXp: t.exposeInt('totalXp'),
  }),
});

const BadgeUnlockedRef = builder.objectRef<BadgeUnlockedView>('BadgeUnlocked').implement({
  fields: (t) => ({ award: t.field({ type: BadgeAwardRef, resolve: (e) => e.award }) }),
});

const StreakUpdatedRef = builder.objectRef<StreakUpdatedView>('StreakUpdated').implement({
  fields: (t) => ({ streak: t.field({ type: StreakRef, resolve: (e) => e.streak }) }),
});

const GoalCompletedRef = builder.objectRef<GoalCompletedView>('GoalCompleted').implement({
  fields: (t) => ({ goal: t.field({ type: DailyGoalRef, resolve: (e) => e.goal }) }),
});

const CertificateIssuedRef = builder.objectRef<CertificateIssuedView>('CertificateIssued').implement({
  fields: (t) => ({ certificate: t.field({ type: CertificateRef, resolve: (e) => e.certificate }) }),
});

export const LearnerEventRef = builder.unionType('LearnerEvent', {
  types: [XpAwardedRef, LevelUpRef, BadgeUnlockedRef, StreakUpdatedRef, GoalCompletedRef, CertificateIssuedRef, RankChangeRef],
  resolveType: (event) => (event as LearnerEventView).kind,
});

/** The global all-time board, whose rank changes myEvents carries. */
function globalBoard(ctx: Context) {
  return ctx.services.boards.resolve(null, ctx.services.catalog.get());
}

/** What a pushed event shows (badges looked up in the catalog, the board described). */
async function viewOf(event: LearnerEventData, ctx: Context): Promise<LearnerEventView> {
  switch (event.type) {
    case 'XpAwarded':
      return { kind: 'XpAwarded', amount: event.amount, totalXp: event.totalXp, reason: event.reason, occurredAt: event.occurredAt };
    case 'LevelUp':
      return { kind: 'LevelUp', level: event.level, name: event.name, totalXp: event.totalXp };
    case 'BadgeUnlocked':
      return { kind: 'BadgeUnlocked', award: await unlockedAward(event, ctx) };
    case 'StreakUpdated':
      return { kind: 'StreakUpdated', streak: event.streak };
    case 'GoalCompleted':
      return { kind: 'GoalCompleted', goal: event.goal };
    case 'CertificateIssued':
      return {
        kind: 'CertificateIssued',
        certificate: { id: event.code, code: event.code, learnerId: event.learnerId, courseId: event.courseId, issuedAt: new Date(event.issuedAt) },
      };
    case 'RankChange':
      return { ...event.move, info: globalBoard(ctx).info, kind: 'RankChange' };
  }
}

builder.subscriptionFields((t) => ({
  myEvents: t.field({
    type: LearnerEventRef,
    description: 'Everything that happens to the signed-in learner.',
    authScopes: { learner: true },
    subscribe: (_r, _a, ctx) => {
      const viewer = requireViewer(ctx.viewer);
      if (viewer.roles.has('service')) {
        throw new Forbidden('myEvents follows the signed-in learner; a service token names no learner. Subscribe with a learner token.');
      }
      const { feeds, catalog } = ctx.services;
      return learnerEventStream(feeds.learner.updates(viewer.id), feeds.boards.rankChanges(globalBoard(ctx).id, viewer.id), () => catalog.get().levels);
    },
    resolve: (event: LearnerEventData, _a, ctx) => viewOf(event, ctx),
  }),
}));
