import { requireViewer } from '../domain/auth/viewer';
import { LEARNING_EVENT_TYPES, type EventBatchResult, type EventRejection } from '../domain/events/service';
import { builder } from './builder';

export const GoalKindEnum = builder.enumType('GoalKind', { values: ['XP', 'LESSONS', 'WATCH_MINUTES', 'QUIZZES'] as const });

export const LearningEventTypeEnum = builder.enumType('LearningEventType', { values: LEARNING_EVENT_TYPES });

const LearningEventInput = builder.inputType('LearningEventInput', {
  fields: (t) => ({
    id: t.id({ required: true, description: "Caller's id; a second event with the same id changes nothing." }),
    type: t.field({ type: LearningEventTypeEnum, required: true }),
    occurredAt: t.field({ type: 'DateTime', required: true }),
    learnerId: t.id({ description: 'Service/admin callers only; defaults to the signed-in learner.' }),
    lessonId: t.id(),
    quizId: t.id(),
    score: t.int(),
    watchedSeconds: t.int(),
    goalKind: t.field({ type: GoalKindEnum }),
    target: t.int(),
  }),
});

const EventRejectionRef = builder.objectRef<EventRejection>('EventRejection').implement({
  fields: (t) => ({
    index: t.exposeInt('index'),
    id: t.exposeID('id', { nullable: true }),
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

const EventBatchResultRef = builder.objectRef<EventBatchResult>('EventBatchResult').implement({
  fields: (t) => ({
    accepted: t.exposeInt('accepted'),
    duplicates: t.exposeInt('duplicates'),
    rejected: t.field({ type: [EventRejectionRef], resolve: (r) => r.rejected }),
  }),
});

builder.mutationFields((t) => ({
  recordEvents: t.field({
    type: EventBatchResultRef,
    description: 'Ingest learning events in bulk; idempotent by event id.',
    authScopes: { learner: true },
    args: { events: t.arg({ type: [LearningEventInput], required: true }) },
    resolve: (_r, { events }, ctx) => ctx.services.events.record(requireViewer(ctx.viewer), events),
  }),
}));
