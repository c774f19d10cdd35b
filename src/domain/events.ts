/** Things that happen to a learner, as announced to subscribers on every instance. */
export type LearnerEvent =
  | { kind: 'xp_awarded'; learnerId: string; amount: number; totalXp: number; reason: string; occurredAt: number }
  | { kind: 'level_up'; learnerId: string; level: number; name: string | null; totalXp: number }
  | { kind: 'badge_unlocked'; learnerId: string; badgeId: string; awardedAt: number };
