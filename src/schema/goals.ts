import { builder } from './builder';
import { GoalKindEnum } from './events';
import { LearnerRef } from './learner';
import { DailyGoalRef } from './learnerEvents';

builder.objectField(LearnerRef, 'dailyGoals', (t) =>
  t.field({
    type: [DailyGoalRef],
    description: "Goals of a day (default: today in the learner's zone).",
    args: { date: t.arg({ type: 'Date' }) },
    resolve: (s, { date }, ctx) => ctx.services.engagement.dailyGoals(s.id, date ?? null),
  }),
);

builder.mutationFields((t) => ({
  setDailyGoal: t.field({
    type: DailyGoalRef,
    description: "Set today's target for one kind of goal.",
    authScopes: { learner: true },
    args: {
      kind: t.arg({ type: GoalKindEnum, required: true }),
      target: t.arg.int({ required: true, description: 'From today on (the learner\'s day); 0 removes the goal.' }),
      learnerId: t.arg.id(),
      eventId: t.arg.id({ description: 'Your id for this action: a retry with the same id changes nothing more.' }),
    },
    resolve: async (_r, args, ctx) =>
      ctx.services.engagement.setDailyGoal(await ctx.services.limits.actingFor(ctx.viewer, args.learnerId, 'setDailyGoal'), args.kind, args.target, args.eventId),
  }),
}));
