import { randomUUID } from 'node:crypto';
import type { Badge, Catalog } from '../catalog/types';
import type { LearnerState, StateNeeds } from '../learners/state';
import { levelOf } from '../levels/rules';
import type { LearnerStore } from '../ports';
import { lessonsCompletedIn } from '../progress/rules';
import { meets, type BadgeFacts } from './criteria';

/** What badge rules can see of a learner now. Pure. */
export function factsOf(state: LearnerState, catalog: Catalog): BadgeFacts {
  return {
    totalXp: state.totalXp,
    level: levelOf(state.totalXp, catalog.levels).level,
    lessonsCompleted: state.lessonsCompleted,
    lessonsCompletedIn: (courseId) => lessonsCompletedIn(state, courseId),
  };
}

/** Badges `state` qualifies for and does not hold yet. Pure. */
export function badgesDue(state: LearnerState, catalog: Catalog): Badge[] {
  const facts = factsOf(state, catalog);
  return catalog.badges.filter((b) => !state.badges.has(b.id) && meets(b.criteria, facts));
}

export interface BadgeAwarded {
  badge: Badge;
  awardedAt: number;
}

/**
 * Checks badges when something relevant happens to one learner (never by scanning learners)
 * and awards each at most once. A badge's XP can unlock further badges, so it checks again
 * until nothing more is due.
 */
export class BadgeService {
  constructor(private readonly learners: LearnerStore) {}

  /** `state` must hold what `needs` asks for (Catalog.needsFor gives enough to judge every badge). */
  async awardDue(state: LearnerState, catalog: Catalog, now: number, needs: StateNeeds): Promise<{ state: LearnerState; awarded: BadgeAwarded[] }> {
    const awarded: BadgeAwarded[] = [];
    for (let round = 0; round <= catalog.badges.length; round += 1) {
      const due = badgesDue(state, catalog);
      if (due.length === 0) break;
      for (const badge of due) {
        const next = await this.learners.awardBadge(state.id, badge.id, badge.xpReward, randomUUID(), now, needs);
        // null: a concurrent request awarded it first; that request announces it.
        if (next) {
          state = next;
          awarded.push({ badge, awardedAt: next.badges.get(badge.id) ?? now });
        }
      }
    }
    return { state, awarded };
  }
}
