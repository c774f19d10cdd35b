/**
 * Expected failures. `src/schema/errors.ts` maps each `code` to a GraphQL error in one place;
 * anything that is not a DomainError is masked as INTERNAL_SERVER_ERROR.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'ALREADY_ENROLLED'
  | 'NOT_ENROLLED'
  | 'ALREADY_COMPLETED'
  | 'RATE_LIMITED'
  | 'UNSUPPORTED_EVENT_TYPE'
  | 'UNAVAILABLE';

/**
 * What a message may quote of a value a caller sent: a prefix of at most `max` characters
 * (whole code points), never the whole of a long value. Characters that could hide or reorder
 * the text around them (controls, bidi controls, invisible characters, lone surrogates) are
 * shown as `\uXXXX` escapes, never echoed raw.
 */
export function quoted(value: string, max = 60): string {
  let shown = value;
  if (value.length > max) {
    // Code points, so a cut never splits a surrogate pair; only the head is split up.
    const head = [...value.slice(0, 2 * max)];
    if (head.length > max || value.length > 2 * max) shown = `${head.slice(0, max).join('')}…`;
  }
  return shown.replace(/[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Zl}\p{Zp}\p{Cs}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

export class Unauthenticated extends DomainError {
  readonly code = 'UNAUTHENTICATED' as const;
  constructor(message = 'Sign in to do this: send a valid bearer token.') {
    super(message);
  }
}

export class Forbidden extends DomainError {
  readonly code = 'FORBIDDEN' as const;
  constructor(message = 'You are not allowed to do this.') {
    super(message);
  }
}

export class NotFound extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly kind: 'course' | 'lesson' | 'quiz' | 'badge' | 'learner',
    readonly id: string,
  ) {
    super(`There is no ${kind} with id "${quoted(id)}".`);
  }
}

export class BadInput extends DomainError {
  readonly code = 'BAD_USER_INPUT' as const;
  constructor(
    message: string,
    /** Dotted path of the offending argument, e.g. `input.modules.0.lessons.2.xpReward`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export class AlreadyEnrolled extends DomainError {
  readonly code = 'ALREADY_ENROLLED' as const;
  constructor(readonly courseId: string) {
    super(`You are already enrolled in course "${courseId}".`);
  }
}

export class NotEnrolled extends DomainError {
  readonly code = 'NOT_ENROLLED' as const;
  constructor(readonly courseId: string) {
    super(`Enroll in course "${courseId}" before making progress in it.`);
  }
}

export class AlreadyCompleted extends DomainError {
  readonly code = 'ALREADY_COMPLETED' as const;
  constructor(readonly lessonId: string) {
    super(`Lesson "${lessonId}" is already completed.`);
  }
}

export class UnsupportedEventType extends DomainError {
  readonly code = 'UNSUPPORTED_EVENT_TYPE' as const;
  constructor(readonly type: string) {
    super(`Events of type ${type} are not supported yet.`);
  }
}

/** A board period older than the ones kept (the last RETAINED_PERIODS finished periods of its kind). */
export class PeriodNotKept extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly periodKey: string,
    readonly oldest: string,
  ) {
    super(`The board of period ${periodKey} is no longer kept: the oldest period of its kind still kept is ${oldest}.`);
  }
}

/** Too many actions in a short time; `retryAfterSeconds` says when the next one is taken. */
export class RateLimited extends DomainError {
  readonly code = 'RATE_LIMITED' as const;
  constructor(
    message: string,
    /** Whole seconds until a retry is taken (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * The service cannot take this change right now (e.g. the write-behind queue is full); nothing
 * was changed and the same call can be retried later.
 */
export class Unavailable extends DomainError {
  readonly code = 'UNAVAILABLE' as const;
  constructor(
    message: string,
    /** Why, for clients and logs: e.g. OUTBOX_FULL. */
    readonly reason: string,
  ) {
    super(message);
  }
}
