import { requireViewer } from '../domain/auth/viewer';
import type { LearnerEvent } from '../domain/events';
import { builder } from './builder';
import { BadgeAwardRef } from './learner';

builder.subscriptionFields((t) => ({
  achievementUnlocked: t.field({
    type: BadgeAwardRef,
    description: 'Badges the signed-in learner unlocks, as they unlock.',
    authScopes: { learner: true },
    subscribe: (_r, _a, ctx) => ctx.services.feeds.learner.events(requireViewer(ctx.viewer).id, ['badge_unlocked'] as const),
    resolve: async (event: Extract<LearnerEvent, { kind: 'badge_unlocked' }>, _a, ctx) => {
      let badge = ctx.services.catalog.get().badge(event.badgeId);
      // The badge may be newer than this instance's catalog snapshot; catch up once.
      if (!badge) badge = (await ctx.services.catalog.reload()).badge(event.badgeId);
      if (!badge) throw new Error(`Badge ${event.badgeId} is not in the catalog`);
      return { badge, learnerId: event.learnerId, awardedAt: event.awardedAt };
    },
  }),
}));
