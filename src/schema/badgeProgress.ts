import { z } from 'zod';
import type { BadgeProgress } from '../domain/badges/progress';
import { MAX_BADGE_PROGRESS } from '../domain/badges/service';
import { parseInput } from '../domain/validation';
import { builder } from './builder';
import { BadgeRef } from './catalog';
import { LearnerRef } from './learner';

const BadgeProgressRef = builder.objectRef<BadgeProgress>('BadgeProgress').implement({
  description:
    "How close the learner is to a badge they have not earned. For one rule, current is the learner's fact (lessons completed, XP, level, best score, streak days, ...) and target the rule's threshold; for all, the weakest part; for any, the strongest. An attempt at a quiz (quiz_score with min_score 0) and the completion of one course count 0 or 1 of 1.",
  fields: (t) => ({
    badge: t.field({ type: BadgeRef, resolve: (p) => p.badge }),
    current: t.exposeFloat('current'),
    target: t.exposeFloat('target'),
    progress: t.exposeFloat('progress', { description: '0..1' }),
  }),
});

builder.objectField(LearnerRef, 'badgeProgress', (t) =>
  t.field({
    type: [BadgeProgressRef],
    description: `Badges not yet earned, closest first (then in catalog order); first at most ${MAX_BADGE_PROGRESS}. Badges that can never be earned are left out.`,
    args: { first: t.arg.int({ defaultValue: 5 }) },
    resolve: (s, args, ctx) =>
      ctx.services.badges.progress(
        s.id,
        parseInput(
          z.number().int().min(0, 'first cannot be negative.').max(MAX_BADGE_PROGRESS, `first is at most ${MAX_BADGE_PROGRESS}.`).default(5),
          args.first ?? undefined,
          'first',
        ),
      ),
  }),
);
