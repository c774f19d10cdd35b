import { z } from 'zod';
import { catalogId } from '../domain/catalog/input';
import { encodeAttemptCursor, type QuizAttemptRecord } from '../domain/events/types';
import type { QuizResult } from '../domain/progress/service';
import { parseInput } from '../domain/validation';
import { builder } from './builder';
import { CertificateRef, certificateView } from './certificates';
import { BadgeAwardRef, LearnerRef } from './learner';

/** Most attempts `quizAttempts` answers at once. */
const MAX_ATTEMPTS_PAGE = 1000;

export const QuizAttemptRef = builder.objectRef<QuizAttemptRecord>('QuizAttempt').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    quizId: t.exposeID('quizId'),
    score: t.exposeInt('score'),
    attemptNumber: t.exposeInt('attemptNumber', { description: "1 for the learner's first attempt at the quiz, then 2, 3, ..." }),
    passed: t.exposeBoolean('passed'),
    attemptedAt: t.field({ type: 'DateTime', resolve: (a) => a.attemptedAt }),
    cursor: t.string({ description: 'Pass as quizAttempts(after:) to read the attempts after this one.', resolve: (a) => encodeAttemptCursor(a) }),
  }),
});

const QuizResultRef = builder.objectRef<QuizResult>('QuizResult').implement({
  fields: (t) => ({
    attempt: t.field({ type: QuizAttemptRef, resolve: (r) => r.attempt }),
    xpAwarded: t.exposeInt('xpAwarded', { description: "The quiz's XP on the first pass; 0 for other attempts." }),
    totalXp: t.exposeInt('totalXp'),
    level: t.exposeInt('level'),
    badgesUnlocked: t.field({
      type: [BadgeAwardRef],
      resolve: (r) => r.badgesUnlocked.map((a) => ({ badge: a.badge, learnerId: r.learnerId, awardedAt: a.awardedAt })),
    }),
    certificateIssued: t.field({
      type: CertificateRef,
      nullable: true,
      description: 'The certificate this attempt issued by completing the course (its last quiz passed); null otherwise.',
      resolve: (r) => (r.certificate ? certificateView(r.certificate) : null),
    }),
  }),
});

builder.mutationFields((t) => ({
  submitQuizAttempt: t.field({
    type: QuizResultRef,
    description: 'Record a quiz attempt with its score (0-100).',
    authScopes: { learner: true },
    args: {
      quizId: t.arg.id({ required: true }),
      score: t.arg.int({ required: true }),
      learnerId: t.arg.id(),
      eventId: t.arg.id({ description: 'Your id for this action (e.g. a UUID): a retry with the same id returns the first result instead of a second attempt.' }),
    },
    resolve: async (_r, args, ctx) =>
      ctx.services.progress.submitQuizAttempt(await ctx.services.limits.actingFor(ctx.viewer, args.learnerId, 'submitQuizAttempt'), args.quizId, args.score, args.eventId),
  }),
}));

builder.objectField(LearnerRef, 'quizAttempts', (t) =>
  t.field({
    type: [QuizAttemptRef],
    description: 'Quiz attempts, oldest first (the score chart); `after` (an attempt\'s `cursor`) reads the next page.',
    args: { quizId: t.arg.id(), first: t.arg.int({ defaultValue: 100 }), after: t.arg.string() },
    resolve: (s, args, ctx) =>
      ctx.services.progress.quizAttempts(
        s.id,
        args.quizId === null || args.quizId === undefined ? null : parseInput(catalogId, args.quizId, 'quizId'),
        parseInput(
          z.number().int().min(0, 'first cannot be negative.').max(MAX_ATTEMPTS_PAGE, `first is at most ${MAX_ATTEMPTS_PAGE}.`).default(100),
          args.first ?? undefined,
          'first',
        ),
        args.after ?? null,
      ),
  }),
);
