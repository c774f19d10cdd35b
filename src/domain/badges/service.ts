import type { Catalog } from '../catalog/types';
import { streakNow } from '../engagement/facts';
import type { Clock, LearnerReads } from '../ports';
import { badgeProgressPlan, rankBadgeProgress, type BadgeProgress, type BadgeProgressPlan } from './progress';

/** Most badges `badgeProgress(first)` lists. */
export const MAX_BADGE_PROGRESS = 50;

/** Badges as the learner sees them coming: how close each one not yet earned is. */
export class BadgeService {
  /** One plan per catalog snapshot (snapshots are immutable; a reload makes a new one). */
  private readonly plans = new WeakMap<Catalog, BadgeProgressPlan>();

  constructor(
    private readonly deps: {
      learners: LearnerReads;
      catalog: { get(): Catalog };
      clock: Clock;
    },
  ) {}

  /**
   * The badges the learner has not earned, closest first (see {@link rankBadgeProgress}), at
   * most `first`. One read of the learner's hash: the `b:<id>` of every badge that can still be
   * earned and the counters their rules read, the same the scripts judge them by (the learner
   * is loaded into Redis first when missing).
   */
  async progress(learnerId: string, first: number): Promise<BadgeProgress[]> {
    const catalog = this.deps.catalog.get();
    let plan = this.plans.get(catalog);
    if (!plan) {
      plan = badgeProgressPlan(catalog.badges, catalog.levels);
      this.plans.set(catalog, plan);
    }
    if (first <= 0 || plan.badges.length === 0) return [];
    const values = await this.deps.learners.numbers(learnerId, plan.fields);
    const byField = new Map<string, number>();
    plan.fields.forEach((f, i) => byField.set(f, values[i] ?? 0));
    // `sk` is the run as of the latest active day (what unlocks a streak badge when a day is
    // marked); the nudge shows the streak as it stands today, 0 once broken.
    if (byField.has('sk')) byField.set('sk', streakNow(await this.deps.learners.engagement(learnerId, this.deps.clock.now()), this.deps.clock.now()).current);
    return rankBadgeProgress(plan, (f) => byField.get(f) ?? 0, first);
  }
}
