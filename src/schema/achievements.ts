import { requireViewer } from '../domain/auth/viewer';
import type { LearnerUpdate } from '../subscriptions/learnerFeed';
import { builder } from './builder';
import type { Context } from './context';
import { BadgeAwardRef, type BadgeAwardView } from './learner';

export interface Unlock {
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

/** The award a pushed unlock names, with its badge from the catalog (reloaded once when the badge is newer than this instance's snapshot). */
export async function unlockedAward(unlock: Unlock, ctx: Context): Promise<BadgeAwardView> {
  let badge = ctx.services.catalog.get().badge(unlock.badgeId);
  if (!badge) badge = (await ctx.services.catalog.reload()).badge(unlock.badgeId);
  if (!badge) throw new Error(`Badge ${unlock.badgeId} is not in the catalog`);
  return { badge, learnerId: unlock.learnerId, awardedAt: unlock.awardedAt };
}

builder.subscriptionFields((t) => ({
  achievementUnlocked: t.field({
    type: BadgeAwardRef,
    description: 'Badges the signed-in learner unlocks, as they unlock.',
    authScopes: { learner: true },
    subscribe: (_r, _a, ctx) => unlocks(ctx.services.feeds.learner.updates(requireViewer(ctx.viewer).id)),
    resolve: (unlock: Unlock, _a, ctx) => unlockedAward(unlock, ctx),
  }),
}));
