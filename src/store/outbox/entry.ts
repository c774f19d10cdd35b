import { z } from 'zod';
import { GOAL_KINDS } from '../../domain/engagement/goals';
import { streakAt, type Streak } from '../../domain/engagement/streak';
import { parsePeriodKey, type PeriodKind } from '../../domain/boards/periods';
import type { EventEffects, EventKind } from '../../domain/events/types';

/**
 * The outbox entry: one per applied event, appended by the event's Lua script in the same
 * atomic step as the change (see lua/includes/appendOutbox.lua), as the stream fields
 * `k` (kind) and `j` (this JSON). The Postgres writer, the board projection and the tests all
 * read entries through this schema; an entry it refuses is dead-lettered, never retried
 * forever. Short field names keep the stream small.
 */

/** The learner's counters after the change. */
const snapshot = z.object({
  /** total XP */
  xp: z.number().int().nonnegative(),
  /** lessons completed */
  lc: z.number().int().nonnegative(),
  /** when the total was reached (ms); 0 before any XP */
  xat: z.number().int().nonnegative(),
});

/** The enrollment the event touched, after it. */
const enrollmentSnapshot = z.object({
  /** enrollment id (the ENROLLED event's key) */
  i: z.string().min(1),
  /** enrolledAt ms */
  eat: z.number().int().nonnegative(),
  /** XP earned in the course */
  x: z.number().int().nonnegative(),
  /** when the course XP was reached (ms); 0 before any */
  xat: z.number().int().nonnegative(),
  /** lessons completed in the course */
  cc: z.number().int().nonnegative(),
  /** completedAt ms; 0 while not completed */
  ec: z.number().int().nonnegative(),
  /** distinct quizzes of the course passed; absent in entries written before quizzes */
  cq: z.number().int().nonnegative().optional(),
  /** seconds watched in the course's lessons; absent in entries written before watch time */
  cw: z.number().int().nonnegative().optional(),
});

/** A badge unlocked in the same step: [badgeId, xp paid, awardedAt ms]. */
const badgeAward = z.tuple([z.string().min(1), z.number().int().nonnegative(), z.number().int().nonnegative()]);

/** A certificate issued in the same step: its code, the course, and when (the event's time, ms). */
const certificateIssue = z.object({ code: z.string().min(1), c: z.string().min(1), at: z.number().int().nonnegative() });

/**
 * The learner's streak after the event: run `r`, freezes `f`, longest `l` as of the latest
 * active day `d` (StreakState), the learner's day `t` when the event was recorded and whether
 * it is active `a`, and whether this event changed the streak `c` (it marked a new day).
 */
const streakSnapshot = z.object({
  r: z.number().int().nonnegative(),
  f: z.number().int().nonnegative(),
  l: z.number().int().nonnegative(),
  d: z.number().int(),
  t: z.number().int(),
  a: z.boolean(),
  c: z.boolean(),
});

/** A learning day toward daily goals (GoalDay): counts, targets (GOAL_KINDS order), done bits. */
const goalDay = z.object({
  d: z.number().int(),
  x: z.number().int(),
  l: z.number().int(),
  w: z.number().int(),
  q: z.number().int(),
  t: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]),
  m: z.number().int().min(0).max(15),
});
/** A learner's score in a board period: [xp, when it was reached (ms, the latest event time that changed it)]. */
const periodScore = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);

/**
 * The board periods the event's XP counted in (lua/includes/periodXp.lua) and the learner's
 * scores in them after it, index by index: `g` global, `c` in the event's course (present when
 * the event paid course XP). Absent when the event paid no XP in an open period.
 */
const periodScores = z
  .object({
    /** period keys (2026-11-22, 2026-W47, 2026-11) */
    k: z.array(z.string().refine((key) => parsePeriodKey(key) !== null, 'not a period key')).min(1).max(3),
    g: z.array(periodScore),
    c: z.array(periodScore).optional(),
  })
  .refine((p) => p.g.length === p.k.length && (p.c === undefined || p.c.length === p.k.length), 'one score per period');

const common = {
  /** learner id */
  l: z.string().min(1),
  /** the caller's event id; '' when the server made it */
  e: z.string(),
  /** event key (uuid): the event log row and ledger row ids derive from it */
  id: z.string().min(1),
  /** occurredAt ms */
  oa: z.number().int().nonnegative(),
  /** recordedAt ms */
  ra: z.number().int().nonnegative(),
  /** the learner's version after the change */
  v: z.number().int().positive(),
  /** the learner's epoch (lua/includes/epoch.lua); 0 in entries written before epochs */
  ep: z.number().int().nonnegative().default(0),
  s: snapshot,
  /** badges unlocked in the same step, in order */
  aw: z.array(badgeAward).optional(),
  /** the certificate issued when this event completed a course (lua/includes/completeCourse.lua) */
  crt: certificateIssue.optional(),
  /** the learning day the event marked active (days since 1970-01-01, in the learner's zone); absent in entries written before zones */
  dy: z.number().int().optional(),
  /** the streak after the event (lua/includes/activeDay.lua); absent in entries written before streaks */
  st: streakSnapshot.optional(),
  /** the event's learning day toward daily goals, after it (lua/includes/goals.lua) */
  gl: goalDay.optional(),
  /** the daily goals this event completed: [kind, day, target, current, bonus XP paid] */
  gd: z.array(z.tuple([z.enum(GOAL_KINDS), z.number().int(), z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().nonnegative()])).optional(),
  /** the learner's board period scores the event changed; absent in entries written before period boards */
  p: periodScores.optional(),
};

export const outboxEntrySchema = z.discriminatedUnion('k', [
  z.object({
    k: z.literal('enrolled'),
    ...common,
    /** course id */
    c: z.string().min(1),
    ce: enrollmentSnapshot,
  }),
  z.object({
    k: z.literal('lesson_completed'),
    ...common,
    /** course id */
    c: z.string().min(1),
    /** lesson id */
    ls: z.string().min(1),
    /** XP the lesson paid */
    x: z.number().int().nonnegative(),
    /** a VIDEO lesson (counted in videos completed); absent in entries written before watch time */
    vd: z.boolean().optional(),
    ce: enrollmentSnapshot,
  }),
  z.object({
    k: z.literal('watched'),
    ...common,
    /** course id (the lesson's) */
    c: z.string().min(1),
    /** lesson id */
    ls: z.string().min(1),
    /** seconds this event added (0 for a VIDEO_COMPLETED with nothing left) */
    sec: z.number().int().nonnegative(),
    /** the lesson's watched seconds in all, after the event */
    w: z.number().int().nonnegative(),
    /** the learner's watched seconds in all, after the event */
    wt: z.number().int().nonnegative(),
    /** the lesson's last watch (ms, the latest event time) */
    wu: z.number().int().nonnegative(),
    /** whether this watch completed the lesson (reached its threshold) */
    cd: z.boolean(),
    /** whether the lesson is completed after the event (by this watch or before) */
    dn: z.boolean(),
    /** XP the completion paid: the lesson's reward when `cd`, else 0 */
    x: z.number().int().nonnegative(),
    /** a VIDEO lesson */
    vd: z.boolean(),
    /** the course's enrollment after the event (`cw` its watched seconds) */
    ce: enrollmentSnapshot,
  }),
  z.object({
    k: z.literal('quiz_attempted'),
    ...common,
    /** course id (the quiz's) */
    c: z.string().min(1),
    /** quiz id */
    q: z.string().min(1),
    /** the attempt's number: 1 for the learner's first attempt at the quiz */
    n: z.number().int().positive(),
    /** the attempt's score */
    sc: z.number().int().min(0).max(100),
    /** whether the attempt passed (score >= the quiz's pass score then) */
    ps: z.boolean(),
    /** XP the quiz paid: its reward on the first pass, else 0 */
    x: z.number().int().nonnegative(),
    /** the learner's best score at the quiz, after this attempt */
    b: z.number().int().min(0).max(100),
    ce: enrollmentSnapshot,
  }),
  z.object({
    k: z.literal('accessed'),
    ...common,
    /** course id (the lesson's) */
    c: z.string().min(1),
    /** lesson id (opened: LESSON_ACCESSED, VIDEO_STARTED) */
    ls: z.string().min(1),
    ce: enrollmentSnapshot,
  }),
  z.object({
    k: z.literal('logged_in'),
    ...common,
  }),
  z.object({
    k: z.literal('profile'),
    ...common,
    /** the display name after the change ('' for none) */
    dn: z.string(),
    /** the zone history after it (src/domain/engagement/zones.ts encodeZoneHistory) */
    tzh: z.string(),
  }),
  z.object({
    k: z.literal('goal_set'),
    ...common,
    /** the kind set (1 XP, 2 LESSONS, 3 WATCH_MINUTES, 4 QUIZZES) */
    gk: z.number().int().min(1).max(4),
    /** the standing targets after it ("tx|tl|tw|tq") */
    gt: z.string(),
    /** the learning day they apply from */
    gtd: z.number().int(),
  }),
]);

export type OutboxEntryData = z.output<typeof outboxEntrySchema>;
export type OutboxKind = OutboxEntryData['k'];
export type EntryOf<K extends OutboxKind> = Extract<OutboxEntryData, { k: K }>;

/** One entry as a consumer reads it. */
export interface OutboxEntry {
  /** The partition stream it came from. */
  stream: string;
  partition: number;
  /** Stream id (`ms-seq`). */
  id: string;
  data: OutboxEntryData;
  /** The entry's JSON as the script wrote it (the event log keeps it). */
  json: string;
}

/** An entry that cannot be read: it goes to the dead letters with this reason. */
export interface UnreadableEntry {
  stream: string;
  partition: number;
  id: string;
  /** The raw stream fields, kept for the dead letter. */
  fields: string[];
  error: string;
}

/** Whether `a` is a later state of its learner than `b`: by epoch, then version. */
export function newer(a: { epoch: number; version: number }, b: { epoch: number; version: number }): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.version > b.version);
}

/** Bits of a ledger row's `periods`: the periods of its event's time it counted in. */
export const PERIOD_FLAGS: Record<PeriodKind, number> = { DAILY: 1, WEEKLY: 2, MONTHLY: 4 };

/** The `periods` flags of every award an entry's event paid (they share its time and its open periods). Pure. */
export function periodFlagsOf(d: Pick<OutboxEntryData, 'p'>): number {
  let flags = 0;
  for (const key of d.p?.k ?? []) flags |= PERIOD_FLAGS[parsePeriodKey(key)!.kind];
  return flags;
}

/** Ledger row id of the XP an event paid itself, and of a badge it unlocked. */
export function ledgerIdOf(eventKey: string, badgeId?: string): string {
  return badgeId === undefined ? eventKey : `${eventKey}:${badgeId}`;
}

/**
 * Read raw stream entries (`[id, [field, value, ...]]`, as XREADGROUP/XAUTOCLAIM return them)
 * into entries and the ones that cannot be read.
 */
export function readEntries(
  stream: string,
  partition: number,
  raw: readonly [string, string[] | null][],
): { entries: OutboxEntry[]; unreadable: UnreadableEntry[] } {
  const entries: OutboxEntry[] = [];
  const unreadable: UnreadableEntry[] = [];
  for (const [id, fields] of raw) {
    // XAUTOCLAIM/XCLAIM return entries deleted meanwhile with no fields: nothing left to do.
    if (!fields) continue;
    let kind: string | undefined;
    let json: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'k') kind = fields[i + 1];
      else if (fields[i] === 'j') json = fields[i + 1];
    }
    if (kind === undefined || json === undefined) {
      unreadable.push({ stream, partition, id, fields, error: 'not an outbox entry of this version (no k/j fields)' });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      unreadable.push({ stream, partition, id, fields, error: `invalid JSON: ${(err as Error).message}` });
      continue;
    }
    const result = outboxEntrySchema.safeParse(parsed);
    if (!result.success || result.data.k !== kind) {
      const issue = result.success ? 'kind field disagrees with the entry' : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      unreadable.push({ stream, partition, id, fields, error: `invalid ${kind} entry: ${issue}` });
      continue;
    }
    entries.push({ stream, partition, id, data: result.data, json });
  }
  return { entries, unreadable };
}

/** Compare two stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** The smallest stream id after `id`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-') as [string, string];
  return `${ms}-${BigInt(seq) + 1n}`;
}

/** When an entry was appended (the ms part of its stream id). */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** The event kind of each entry kind (the scripts' records of caller ids use the same names). */
export const KIND_OF: Record<OutboxKind, EventKind> = {
  enrolled: 'ENROLLED',
  lesson_completed: 'LESSON_COMPLETED',
  quiz_attempted: 'QUIZ_ATTEMPTED',
  watched: 'WATCHED',
  accessed: 'ACCESSED',
  logged_in: 'LOGGED_IN',
  profile: 'PROFILE_UPDATED',
  goal_set: 'GOAL_SET',
};

/** What an entry's event changed, as a request answers it. Pure. */
export function effectsOfEntry(d: OutboxEntryData): EventEffects {
  const effects: EventEffects = {
    kind: KIND_OF[d.k],
    learnerId: d.l,
    version: d.v,
    xpAwarded: 'x' in d ? d.x : 0,
    totalXp: d.s.xp,
    badges: (d.aw ?? []).map(([badgeId, xp, awardedAt]) => ({ badgeId, xp, awardedAt })),
    target: 'ls' in d ? d.ls : 'q' in d ? d.q : 'c' in d ? d.c : '',
    enrollment:
      'ce' in d
        ? {
            id: d.ce.i,
            courseId: d.c,
            enrolledAt: d.ce.eat,
            xpEarned: d.ce.x,
            xpAt: d.ce.xat > 0 ? d.ce.xat : null,
            lessonsCompleted: d.ce.cc,
            quizzesPassed: d.ce.cq ?? 0,
            watchSeconds: d.ce.cw ?? 0,
            completedAt: d.ce.ec > 0 ? d.ce.ec : null,
            certificateCode: d.crt && d.crt.c === d.c ? d.crt.code : null,
          }
        : null,
  };
  if (d.crt) effects.certificate = { code: d.crt.code, courseId: d.crt.c, issuedAt: d.crt.at };
  if (d.st) effects.streak = streakOfSnapshot(d.st);
  if (d.k === 'quiz_attempted') {
    effects.attempt = { id: d.id, quizId: d.q, score: d.sc, attemptNumber: d.n, passed: d.ps, attemptedAt: d.oa };
  }
  if (d.k === 'watched') {
    effects.watch = { seconds: d.w, completed: d.dn, completedNow: d.cd };
  }
  return effects;
}

/** The streak an entry's snapshot says the learner had when the event was recorded. Pure. */
export function streakOfSnapshot(st: NonNullable<OutboxEntryData['st']>): Streak & { changed: boolean } {
  return { ...streakAt({ run: st.r, freezes: st.f, longest: st.l, last: st.d }, st.t, st.a), changed: st.c };
}
