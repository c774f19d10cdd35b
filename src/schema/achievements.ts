import { requireViewer } from '../domain/auth/viewer';
import type { LearnerUpdate } from '../subscriptions/learnerFeed';
import { builder } from './builder';
import { BadgeAwardRef } from './learner';

interface Unlock {
  learnerId: string;
  badgeId: string;
  awardedAt: number;
}

/** Each badge an update unlocked, one by one. */
async function* unlocks(updates: AsyncIterableIterator<LearnerUpdate>): AsyncGenerator<Unlock> {
  try {
    for await (const u of updates) {
      for (const [badgeId, , awardedAt] of u.aw ?? []) yield { learnerId: u.l, badgeId, awardedAt };
    }
  } finally {
    await updates.return?.();
  }
}

builder.subscriptionFields((t) => ({
  achievementUnlocked: t.field({
    type: BadgeAwardRef,
    description: 'Badges the signed-in learner unlocks, as they unlock.',
    authScopes: { learner: true },
    subscribe: (_r, _a, ctx) => unlocks(ctx.services.feeds.learner.updates(requireViewer(ctx.viewer).id)),
    resolve: async (unlock: Unlock, _a, ctx) => {
      let badge = ctx.services.catalog.get().badge(unlock.badgeId);
      // The badge may be newer than this instance's catalog snapshot; catch up once.
      if (!badge) badge = (await ctx.services.catalog.reload()).badge(unlock.badgeId);
      if (!badge) throw new Error(`Badge ${unlock.badgeId} is not in the catalog`);
      return { badge, learnerId: unlock.learnerId, awardedAt: unlock.awardedAt };
    },
  }),
}));
