import { requireViewer } from '../domain/auth/viewer';
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import { LEARNER_BUFFER, type LearnerUpdate } from '../subscriptions/learnerFeed';
import { builder } from './builder';
import type { Context } from './context';
import { BadgeAwardRef, type BadgeAwardView } from './learner';

export interface Unlock {
  learnerId: string;
  badgeId: string;
  awardedAt: number;
}

/**
 * Each badge an update unlocked, one by one. A Repeater rather than an async generator: a
 * generator suspended in `await updates.next()` cannot be returned until the learner's next
 * message, so a client that left would keep its feed registered (possibly forever); the
 * Repeater ends the learner feed the moment the client leaves.
 */
function unlocks(updates: AsyncIterableIterator<LearnerUpdate>): AsyncIterableIterator<Unlock> {
  return new Repeater<Unlock>(async (push, stop) => {
    void (async () => {
      for (;;) {
        const r = await updates.next();
        if (r.done) return;
        for (const [badgeId, , awardedAt] of r.value.aw ?? []) void push({ learnerId: r.value.l, badgeId, awardedAt });
      }
    })().then(
      () => stop(),
      (err: unknown) => stop(err as Error),
    );
    await stop;
    await updates.return?.();
  }, new SlidingBuffer(LEARNER_BUFFER));
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
