import { randomUUID } from 'node:crypto';
import { learnerId as learnerIdSchema, type Viewer } from '../auth/viewer';
import type { CatalogService } from '../catalog/service';
import type { Catalog } from '../catalog/types';
import { BadInput, DomainError, Forbidden, NotFound, quoted, UnsupportedEventType } from '../errors';
import type { ActionLimits } from '../limits/service';
import { maxWatchSeconds } from '../progress/rules';
import type { Clock, EventStore, WriteGate } from '../ports';
import { parseInput } from '../validation';
import { prepareEvent, type PreparedEvent } from './prepare';
import { eventTimeProblem } from './rules';
import { eventId as eventIdSchema, eventPayloads, watchSeconds, type EventEffects, type EventKind, type LearningEvent, type Outcome } from './types';

/** Most events one `recordEvents` call takes. */
export const MAX_EVENTS_PER_BATCH = 500;

/** The event types of the API, and the kind each maps to once its feature exists. */
export const LEARNING_EVENT_TYPES = [
  'VIDEO_STARTED',
  'VIDEO_PROGRESS',
  'VIDEO_COMPLETED',
  'QUIZ_ATTEMPTED',
  'LESSON_ACCESSED',
  'LESSON_COMPLETED',
  'DAILY_LOGIN',
  'GOAL_SET',
] as const;
export type LearningEventType = (typeof LEARNING_EVENT_TYPES)[number];

const SUPPORTED: Partial<Record<LearningEventType, EventKind>> = {
  LESSON_COMPLETED: 'LESSON_COMPLETED',
  QUIZ_ATTEMPTED: 'QUIZ_ATTEMPTED',
  VIDEO_PROGRESS: 'WATCHED',
  VIDEO_COMPLETED: 'WATCHED',
  LESSON_ACCESSED: 'ACCESSED',
  VIDEO_STARTED: 'ACCESSED',
  DAILY_LOGIN: 'LOGGED_IN',
  GOAL_SET: 'GOAL_SET',
};

/** One event as `recordEvents` receives it (LearningEventInput). */
export interface LearningEventInput {
  id: string;
  type: LearningEventType;
  occurredAt: Date;
  learnerId?: string | null;
  lessonId?: string | null;
  quizId?: string | null;
  score?: number | null;
  watchedSeconds?: number | null;
  goalKind?: string | null;
  target?: number | null;
}

export interface EventRejection {
  index: number;
  id: string | null;
  code: string;
  message: string;
}

export interface EventBatchResult {
  accepted: number;
  duplicates: number;
  rejected: EventRejection[];
}

/** An applied or repeated event's effects. */
export type Accepted = Extract<Outcome, { status: 'applied' | 'duplicate' }>;

export interface EventServiceDeps {
  store: EventStore;
  catalog: CatalogService;
  clock: Clock;
  gate: WriteGate;
  /** Per-learner budgets of events (none: unlimited). */
  limits?: ActionLimits;
}

const REPEAT_CODES = new Set(['ALREADY_COMPLETED', 'ALREADY_ENROLLED']);

/**
 * The one way in for everything a learner does. Mutations and `recordEvents` build events;
 * this resolves them against the catalog, applies them through the store (one atomic script
 * per event) and answers with their effects. Everything else (boards, Postgres) follows from
 * the outbox entries the scripts append.
 */
export class EventService {
  constructor(private readonly deps: EventServiceDeps) {}

  /** A new event of `kind` made by a mutation, at the server's time. */
  build<K extends EventKind>(kind: K, learnerId: string, payload: LearningEvent<K>['payload'], eventId?: string | null): LearningEvent<K> {
    const now = this.deps.clock.now();
    const key = randomUUID();
    const id = eventId === undefined || eventId === null ? null : parseInput(eventIdSchema, eventId, 'eventId');
    // The payload's ids are arguments too (courseId, lessonId): BAD_USER_INPUT naming them.
    const parsed = parseInput(eventPayloads[kind], payload, '') as LearningEvent<K>['payload'];
    return { id: id ?? key, idFromCaller: id !== null, key, kind, learnerId, occurredAt: now, recordedAt: now, payload: parsed };
  }

  /**
   * Apply one event and answer with its effects; a repeat of a caller's event id answers the
   * first result. The repeat must be of the same action.
   * @throws NotFound, the event's refusal (NotEnrolled, AlreadyCompleted, ...), Unavailable,
   *   BadInput when a caller's event id was used for another action
   */
  async applyOne(event: LearningEvent): Promise<Accepted & { prepared: PreparedEvent }> {
    const prepared = prepareEvent(event, this.deps.catalog.get());
    this.deps.gate.check();
    const [outcome] = await this.resolveRepeats([prepared], await this.deps.store.apply([prepared]));
    if (outcome!.status === 'rejected') throw outcome!.error;
    if (outcome!.status === 'duplicate' && !sameAction(prepared, outcome!.effects)) {
      throw new BadInput(`The event id "${quoted(event.id)}" was already used for another action.`, 'eventId');
    }
    return { ...outcome!, prepared };
  }

  /**
   * `recordEvents`: validate each event on its own (bad ones are rejected with their index and
   * code while the rest apply), then apply the valid ones in one go, in order per learner.
   * @throws BadInput for a batch over the limit; Unavailable when the outbox is full; the
   *   store's error when the rate limits cannot be read (UNAVAILABLE through the translator)
   */
  async record(viewer: Viewer, inputs: readonly LearningEventInput[]): Promise<EventBatchResult> {
    if (inputs.length > MAX_EVENTS_PER_BATCH) {
      throw new BadInput(`recordEvents takes at most ${MAX_EVENTS_PER_BATCH} events per call.`, 'events');
    }
    const catalog = this.deps.catalog.get();
    const now = this.deps.clock.now();
    const mayActForOthers = viewer.roles.has('service') || viewer.roles.has('admin');
    const rejected: EventRejection[] = [];
    const valid: { index: number; prepared: PreparedEvent }[] = [];
    inputs.forEach((input, index) => {
      try {
        valid.push({ index, prepared: prepareEvent(this.eventOf(input, index, viewer, mayActForOthers, now, catalog), catalog) });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        rejected.push({ index, id: shownId(input.id), code: err.code, message: err.message });
      }
    });
    let accepted = 0;
    let duplicates = 0;
    if (valid.length) this.deps.gate.check(valid.length);
    // Each learner's events take from their budget before any applies: those past it are
    // refused one by one (RATE_LIMITED), the first ones in the batch's order go on.
    const refusals = this.deps.limits ? await this.deps.limits.takeEach(viewer, valid.map((v) => v.prepared.event.learnerId), 'recordEvents') : [];
    const within = valid.filter((v, i) => {
      const refusal = refusals[i];
      if (refusal) rejected.push({ index: v.index, id: shownId(inputs[v.index]!.id), code: refusal.code, message: refusal.message });
      return !refusal;
    });
    if (within.length) {
      const prepared = within.map((v) => v.prepared);
      const outcomes = await this.resolveRepeats(prepared, await this.deps.store.apply(prepared));
      outcomes.forEach((o, i) => {
        if (o.status === 'rejected') {
          rejected.push({ index: within[i]!.index, id: shownId(inputs[within[i]!.index]!.id), code: o.error.code, message: o.error.message });
        } else if (o.status === 'applied') accepted += 1;
        else duplicates += 1;
      });
    }
    rejected.sort((a, b) => a.index - b.index);
    return { accepted, duplicates, rejected };
  }

  /** One input as an event. @throws the reason it is refused */
  private eventOf(input: LearningEventInput, index: number, viewer: Viewer, mayActForOthers: boolean, now: number, catalog: Catalog): LearningEvent {
    const field = (name: string) => `events.${index}.${name}`;
    const named = input.learnerId ?? null;
    if (named !== null && named !== viewer.id && !mayActForOthers) {
      throw new Forbidden('You can only record your own events; learnerId is for service callers.');
    }
    const learnerId = named === null ? viewer.id : parseInput(learnerIdSchema, named, field('learnerId'));
    const id = parseInput(eventIdSchema, input.id, field('id'));
    const occurredAt = input.occurredAt instanceof Date ? input.occurredAt.getTime() : Number.NaN;
    const problem = eventTimeProblem(occurredAt, now, mayActForOthers);
    if (problem) throw new BadInput(`Invalid ${field('occurredAt')}: ${problem}`, field('occurredAt'));
    const kind = SUPPORTED[input.type];
    if (!kind) throw new UnsupportedEventType(String(input.type));
    let payload: LearningEvent['payload'];
    switch (kind) {
      case 'LESSON_COMPLETED':
        if (!input.lessonId) throw new BadInput(`Invalid ${field('lessonId')}: a LESSON_COMPLETED event names its lesson.`, field('lessonId'));
        payload = parseInput(eventPayloads.LESSON_COMPLETED, { lessonId: input.lessonId }, `events.${index}`);
        break;
      case 'QUIZ_ATTEMPTED':
        if (!input.quizId) throw new BadInput(`Invalid ${field('quizId')}: a QUIZ_ATTEMPTED event names its quiz.`, field('quizId'));
        if (input.score === null || input.score === undefined) {
          throw new BadInput(`Invalid ${field('score')}: a QUIZ_ATTEMPTED event carries its score (0 to 100).`, field('score'));
        }
        payload = parseInput(eventPayloads.QUIZ_ATTEMPTED, { quizId: input.quizId, score: input.score }, `events.${index}`);
        break;
      case 'WATCHED':
        payload = watchPayloadOf(input, index, catalog);
        break;
      case 'ACCESSED':
        if (!input.lessonId) throw new BadInput(`Invalid ${field('lessonId')}: a ${input.type} event names its lesson.`, field('lessonId'));
        payload = parseInput(eventPayloads.ACCESSED, { lessonId: input.lessonId }, `events.${index}`);
        break;
      case 'LOGGED_IN':
        payload = {};
        break;
      case 'GOAL_SET':
        if (!input.goalKind) throw new BadInput(`Invalid ${field('goalKind')}: a GOAL_SET event names its goal kind.`, field('goalKind'));
        if (input.target === null || input.target === undefined) throw new BadInput(`Invalid ${field('target')}: a GOAL_SET event carries its target.`, field('target'));
        payload = parseInput(eventPayloads.GOAL_SET, { kind: input.goalKind, target: input.target }, `events.${index}`);
        break;
      default:
        throw new UnsupportedEventType(String(input.type));
    }
    return { id, idFromCaller: true, key: randomUUID(), kind, learnerId, occurredAt, recordedAt: now, payload };
  }

  /**
   * A caller's event id Redis no longer remembers (past its window, or Redis lost it) meets
   * the semantic key instead: ALREADY_COMPLETED / ALREADY_ENROLLED. When the durable event
   * log has the id, it is a repeat: answer the first result.
   */
  private async resolveRepeats(prepared: readonly PreparedEvent[], outcomes: Outcome[]): Promise<Outcome[]> {
    const asks = new Map<string, { index: number; id: string }[]>();
    outcomes.forEach((o, i) => {
      const e = prepared[i]!.event;
      if (o.status !== 'rejected' || !e.idFromCaller || !REPEAT_CODES.has(o.error.code)) return;
      const list = asks.get(e.learnerId);
      if (list) list.push({ index: i, id: e.id });
      else asks.set(e.learnerId, [{ index: i, id: e.id }]);
    });
    await Promise.all(
      [...asks].map(async ([learnerId, list]) => {
        const found = await this.deps.store.firstResults(learnerId, list.map((l) => l.id));
        for (const { index, id } of list) {
          const effects = found.get(id);
          if (effects) outcomes[index] = { status: 'duplicate', effects };
        }
      }),
    );
    return outcomes;
  }
}

/**
 * VIDEO_PROGRESS and VIDEO_COMPLETED as WATCHED payloads. VIDEO_PROGRESS adds its
 * `watchedSeconds` (1 up to the lesson's duration, or 4 h without one). VIDEO_COMPLETED adds
 * the seconds still missing to the lesson's full duration (none when already reached: the
 * event is still accepted and may complete the video); a lesson without a duration has no
 * "rest" to add, so it is refused (send LESSON_COMPLETED or VIDEO_PROGRESS instead).
 * @throws BadInput naming `events.N.lessonId` / `events.N.watchedSeconds`, NotFound
 */
function watchPayloadOf(input: LearningEventInput, index: number, catalog: Catalog): LearningEvent<'WATCHED'>['payload'] {
  const field = (name: string) => `events.${index}.${name}`;
  if (!input.lessonId) throw new BadInput(`Invalid ${field('lessonId')}: a ${input.type} event names its lesson.`, field('lessonId'));
  const { lessonId } = parseInput(eventPayloads.LESSON_COMPLETED, { lessonId: input.lessonId }, `events.${index}`);
  const lesson = catalog.lesson(lessonId);
  if (!lesson) throw new NotFound('lesson', lessonId);
  if (input.type === 'VIDEO_COMPLETED') {
    const d = lesson.durationSeconds;
    if (d === null || d <= 0) {
      throw new BadInput(
        `Invalid ${field('lessonId')}: lesson "${quoted(lessonId)}" has no duration, so VIDEO_COMPLETED cannot tell what is left to watch; send LESSON_COMPLETED or VIDEO_PROGRESS.`,
        field('lessonId'),
      );
    }
    return { lessonId, seconds: d, toEnd: true };
  }
  if (input.watchedSeconds === null || input.watchedSeconds === undefined) {
    throw new BadInput(`Invalid ${field('watchedSeconds')}: a VIDEO_PROGRESS event carries its watchedSeconds.`, field('watchedSeconds'));
  }
  const seconds = parseInput(watchSeconds, input.watchedSeconds, field('watchedSeconds'));
  const max = maxWatchSeconds(lesson);
  if (seconds > max) {
    throw new BadInput(`Invalid ${field('watchedSeconds')}: at most ${max} for lesson "${quoted(lessonId)}" (its duration, or 4 hours without one).`, field('watchedSeconds'));
  }
  return { lessonId, seconds };
}

/** Whether a repeat's first result was for the same action (a retry), not an id reused for another (another lesson, quiz or score). */
function sameAction(p: PreparedEvent, e: EventEffects): boolean {
  if (e.kind !== p.event.kind) return false;
  // A quiz attempt is its quiz and its score: the same id with another score is another attempt.
  if ('quizId' in p && e.attempt && e.attempt.score !== p.score) return false;
  return e.target === ('lessonId' in p ? p.lessonId : 'quizId' in p ? p.quizId : 'courseId' in p ? p.courseId : '');
}

/** The caller's id as a rejection may echo it: whole when valid, a short prefix otherwise. */
function shownId(id: unknown): string | null {
  if (typeof id !== 'string') return null;
  return eventIdSchema.safeParse(id).success ? id : quoted(id, 40);
}
