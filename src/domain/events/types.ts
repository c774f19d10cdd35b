import { z } from 'zod';
import { catalogId } from '../catalog/input';
import type { Streak } from '../engagement/streak';
import { canonicalZone } from '../engagement/zones';
import { goalKind, MAX_GOAL_TARGET, type GoalKind } from '../engagement/goals';
import type { DomainError } from '../errors';
import type { EnrollmentState } from '../learners/state';
import { printableId } from '../validation';

/**
 * Everything a learner does is an event. Mutations and `recordEvents` build events and hand
 * them to one apply path (`EventService`); each kind has one Lua script that applies it in
 * one atomic step and appends its outbox entry.
 */
export type EventKind = 'ENROLLED' | 'LESSON_COMPLETED' | 'QUIZ_ATTEMPTED' | 'WATCHED' | 'ACCESSED' | 'LOGGED_IN' | 'PROFILE_UPDATED' | 'GOAL_SET';

/** What each kind carries besides the common fields. */
export interface EventPayloads {
  ENROLLED: { courseId: string };
  LESSON_COMPLETED: { lessonId: string };
  QUIZ_ATTEMPTED: { quizId: string; score: number };
  /**
   * `seconds` watched; with `toEnd` (VIDEO_COMPLETED), `seconds` is the lesson's duration and
   * the event adds only what is missing for the lesson's total to reach it.
   */
  WATCHED: { lessonId: string; seconds: number; toEnd?: boolean | undefined };
  /** LESSON_ACCESSED, VIDEO_STARTED: the learner opened the lesson (completes and pays nothing). */
  ACCESSED: { lessonId: string };
  /** DAILY_LOGIN: the learner showed up; the day is active (pays nothing). */
  LOGGED_IN: Record<string, never>;
  /**
   * updateProfile: a new display name (null clears it) and/or a new time zone (canonical IANA
   * name), each absent when unchanged. Not learning activity: marks no day.
   */
  PROFILE_UPDATED: { displayName?: string | null | undefined; timeZone?: string | undefined };
  /** setDailyGoal, GOAL_SET: the target of one kind of daily goal from the event's day on (0 removes it). */
  GOAL_SET: { kind: GoalKind; target: number };
}

/** A quiz score: a whole number from 0 to 100. */
export const quizScore = z
  .number({ error: 'A score is a whole number from 0 to 100.' })
  .int('A score is a whole number from 0 to 100.')
  .min(0, 'A score is a whole number from 0 to 100.')
  .max(100, 'A score is a whole number from 0 to 100.');

const WATCH_SECONDS = 'Watched seconds are a whole number of at least 1.';

/** Watched seconds of one call: a whole number from 1 (the bound above depends on the lesson). */
export const watchSeconds = z.number({ error: WATCH_SECONDS }).int(WATCH_SECONDS).min(1, WATCH_SECONDS);

/** A display name: trimmed, 1 to 60 characters, no control characters; shown on boards. */
export const displayName = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .refine((s) => s.length >= 1 && [...s].length <= 60, 'A display name is 1 to 60 characters (spaces around it are dropped).')
  .refine((s) => !/[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029\u115F\u1160\u3164\uFFA0]/u.test(s), 'A display name cannot hold control or invisible formatting characters.')
  // Something must show: not only spaces, combining marks and blank symbols (U+2800 braille blank, U+034F).
  .refine((s) => /[\p{L}\p{N}\p{P}\p{S}]/u.test(s.replace(/[\u2800\u034F]/gu, '')), 'A display name must show at least one letter, digit or symbol.');

/** An IANA time zone the runtime knows, as its canonical name ('europe/berlin' → 'Europe/Berlin'). */
export const timeZone = z.string().transform((zone, ctx) => {
  const name = canonicalZone(zone);
  if (name === null) {
    ctx.addIssue({ code: 'custom', message: 'Not a time zone: use an IANA name such as "Europe/Berlin" or "America/New_York".' });
    return z.NEVER;
  }
  return name;
});

/** The payload schema of each kind. */
export const eventPayloads: { [K in EventKind]: z.ZodType<EventPayloads[K]> } = {
  ENROLLED: z.object({
    /** The course enrolled in. */
    courseId: catalogId,
  }),
  LESSON_COMPLETED: z.object({
    /** The lesson completed. */
    lessonId: catalogId,
  }),
  QUIZ_ATTEMPTED: z.object({
    /** The quiz attempted. */
    quizId: catalogId,
    /** The attempt's score, 0..100. */
    score: quizScore,
  }),
  WATCHED: z.object({
    /** The lesson watched. */
    lessonId: catalogId,
    /** Seconds watched (at most the lesson's duration, or 4 h without one: checked against the catalog). */
    seconds: watchSeconds,
    /** VIDEO_COMPLETED: add only what is missing for the lesson's total to reach `seconds`. */
    toEnd: z.boolean().optional(),
  }),
  ACCESSED: z.object({
    /** The lesson opened. */
    lessonId: catalogId,
  }),
  LOGGED_IN: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
  PROFILE_UPDATED: z.object({
    displayName: displayName.nullable().optional(),
    timeZone: timeZone.optional(),
  }),
  GOAL_SET: z
    .object({
      kind: goalKind,
      target: z.number({ error: 'A target is a whole number.' }).int('A target is a whole number.').min(0, 'A target cannot be negative (0 removes the goal).'),
    })
    .superRefine((g, ctx) => {
      const max = MAX_GOAL_TARGET[g.kind];
      if (g.target > max) ctx.addIssue({ code: 'custom', path: ['target'], message: `A ${g.kind} target is at most ${max}.` });
    }),
};

/** One learner event, as the apply path takes it. */
export interface LearningEvent<K extends EventKind = EventKind> {
  /** The caller's id, or one made for a mutation sent without `eventId`. */
  id: string;
  /** Whether `id` came from the caller: only then can a retry repeat it, so only then is it remembered. */
  idFromCaller: boolean;
  /** Unique key made by the server: the event log row and the ledger rows it pays are keyed by it. */
  key: string;
  kind: K;
  learnerId: string;
  /** When it happened (ms): the caller's time for events, the server's for mutations. */
  occurredAt: number;
  /** When the server received it (ms). */
  recordedAt: number;
  payload: EventPayloads[K];
}

/** Event ids as callers send them: printable, no spaces, at most 200 characters. */
export const eventId = printableId('An event id');

/** A badge unlocked by an event, with the XP it paid. */
export interface BadgeUnlock {
  badgeId: string;
  xp: number;
  awardedAt: number;
}

/** What applying an event changed, as a request answers it. */
export interface EventEffects {
  kind: EventKind;
  learnerId: string;
  /** The learner's version after the event. */
  version: number;
  /** XP the event itself paid (a lesson's reward); badge XP is in `badges`. */
  xpAwarded: number;
  /** The learner's total after the event and the badges it unlocked. */
  totalXp: number;
  badges: BadgeUnlock[];
  /** The lesson or course the event was about: tells a retry from an id reused for something else. */
  target: string;
  /** The enrollment the event touched, after it; null when answering a repeat (read it fresh). */
  enrollment: EnrollmentState | null;
  /** A quiz attempt: the attempt as recorded (a repeat answers the first one's). */
  attempt?: QuizAttemptRecord;
  /** A watch: the lesson's watch total after it, and whether the lesson is (and just got) completed. */
  watch?: WatchRecord;
  /** The certificate this event issued by completing a course. */
  certificate?: CertificateIssue;
  /** The learner's streak when the event was recorded, and whether the event changed it (a new active day). */
  streak?: Streak & { changed: boolean };
}

/** A certificate as the event that completed its course issued it. */
export interface CertificateIssue {
  code: string;
  courseId: string;
  /** ms: the completing event's time */
  issuedAt: number;
}

/** What a WATCHED event left of its lesson. */
export interface WatchRecord {
  /** The lesson's watched seconds in all, after the event. */
  seconds: number;
  /** Whether the lesson is completed after the event (by this watch or before). */
  completed: boolean;
  /** Whether this event completed it (and paid its XP, in `xpAwarded`). */
  completedNow: boolean;
}

/** One quiz attempt as the learner sees it. */
export interface QuizAttemptRecord {
  /** The attempt's id: the QUIZ_ATTEMPTED event's key. */
  id: string;
  quizId: string;
  score: number;
  /** 1 for a learner's first attempt at the quiz, then 2, 3, ... */
  attemptNumber: number;
  passed: boolean;
  /** ms since epoch (the event's time) */
  attemptedAt: number;
}

/** Where a page of quiz attempts resumes: after this attempt, in chart order (time, quiz, number). */
export interface AttemptCursor {
  attemptedAt: number;
  quizId: string;
  attemptNumber: number;
}

/** Opaque cursor of an attempt in the chart: base64url of JSON `[attemptedAt, quizId, attemptNumber]`. */
export function encodeAttemptCursor(a: { attemptedAt: number; quizId: string; attemptNumber: number }): string {
  return Buffer.from(JSON.stringify([a.attemptedAt, a.quizId, a.attemptNumber]), 'utf8').toString('base64url');
}

/** The position an attempt cursor names; null for anything encodeAttemptCursor did not write. */
export function decodeAttemptCursor(cursor: string): AttemptCursor | null {
  if (cursor.length > 400) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== 3) return null;
  const [at, quizId, n] = v as unknown[];
  if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at > 8.64e15) return null;
  // A catalog id as catalogId allows it (letters, digits, _ . : -): nothing else reaches a query.
  if (typeof quizId !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(quizId)) return null;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2_147_483_647) return null;
  return { attemptedAt: at, quizId, attemptNumber: n };
}

/** The learner's total before the event: the total after, minus what the event and its badges paid. */
export function totalBefore(e: EventEffects): number {
  return e.totalXp - e.xpAwarded - e.badges.reduce((sum, b) => sum + b.xp, 0);
}

/** An event applied now, repeated (the first result), or refused with a domain error. */
export type Outcome =
  | { status: 'applied' | 'duplicate'; effects: EventEffects }
  | { status: 'rejected'; error: DomainError };
