import { AlreadyCompleted, AlreadyEnrolled, NotEnrolled, type DomainError } from '../../domain/errors';
import type { PreparedEvent } from '../../domain/events/prepare';
import type { EventEffects, EventKind, Outcome } from '../../domain/events/types';
import type { EnrollmentState, LearnerCounters, LearnerState, LessonQuizFacts, PeriodScores, QuizState, StatCounters, XpTransaction } from '../../domain/learners/state';
import { newCertificateCode } from '../../domain/progress/certificates';
import type { LessonState } from '../../domain/progress/lessons';
import { effectsOfEntry, type OutboxEntryData } from '../outbox/entry';
import { eventContext, periodContext } from './eventContext';
import type { Keys } from './keys';
import type { ScriptedClient } from './scripts';

/** A script's outcome, or: the learner is not in Redis (hydrate, then run it again). */
export type ScriptOutcome = Outcome | { status: 'not_loaded' };

/** What a read asked for: counters always, the rest when asked. */
export interface LearnerRead {
  counters: LearnerCounters;
  enrollments?: EnrollmentState[];
  badges?: Map<string, number>;
  recentXp?: XpTransaction[];
}

/** Parts of a learner a read may ask for besides the counters. */
export type LearnerPart = 'enrollments' | 'badges' | 'recentXp';
const PART_FLAGS: Record<LearnerPart, string> = { enrollments: 'e', badges: 'b', recentXp: 'r' };

const numOrNull = (v: number | string | null | undefined): number | null => {
  const n = Number(v ?? 0);
  return n > 0 ? n : null;
};

/** The record a repeat returns: the first call's result (see the scripts' rememberEvent). */
interface RecordReply {
  k: string;
  t: string;
  x: number;
  s: number;
  v: number;
  aw?: [string, number, number][];
  /** Quiz attempts: the attempt's id (event key), number, score, whether it passed, and its time. */
  id?: string;
  n?: number;
  sc?: number;
  ps?: boolean;
  at?: number;
  /** Watches: the lesson's total after it, whether it completed the lesson, whether the lesson is completed. */
  w?: number;
  cd?: boolean;
  c?: boolean;
  /** The certificate the event issued. */
  crt?: { code: string; c: string; at: number };
}

const KIND_OF_RECORD: Record<string, EventKind> = { enrolled: 'ENROLLED', lesson_completed: 'LESSON_COMPLETED', quiz_attempted: 'QUIZ_ATTEMPTED', watched: 'WATCHED', accessed: 'ACCESSED' };

/** How many recent awards a learner's hash keeps (RECENT_XP in lua/includes/payXp.lua). */
export const RECENT_XP_ROWS = 20;

/** Encode recent XP awards the way payXp.lua writes them: one tab-separated line each, newest first. */
export function encodeRecentXp(rows: readonly XpTransaction[]): string {
  return rows.map((r) => `${r.id}\t${r.amount}\t${r.reason}\t${r.sourceId ?? ''}\t${r.occurredAt}`).join('\n');
}

export function decodeRecentXp(text: string | null | undefined): XpTransaction[] {
  if (!text) return [];
  return text.split('\n').map((line) => {
    const [id, amount, reason, source, at] = line.split('\t');
    return { id: id!, amount: Number(amount), reason: reason!, sourceId: source ? source : null, occurredAt: Number(at) };
  });
}

/** The hash field `pp` (lua/includes/periodXp.lua): {<periodKey>: {g: [xp, at], c: {<courseId>: [xp, at]}}}. */
type PeriodField = Record<string, { g?: [number, number]; c?: Record<string, [number, number]> }>;

/** Encode period scores the way periodXp.lua keeps them in `pp`. */
export function encodePeriodScores(periods: ReadonlyMap<string, PeriodScores>): string {
  const out: PeriodField = {};
  for (const [key, p] of periods) {
    out[key] = { g: [p.global.xp, p.global.at], c: Object.fromEntries([...p.courses].map(([c, s]) => [c, [s.xp, s.at]])) };
  }
  return JSON.stringify(out);
}

/** The period scores of a `pp` field (none when absent). */
export function decodePeriodScores(text: string | null | undefined): Map<string, PeriodScores> {
  const out = new Map<string, PeriodScores>();
  if (!text) return out;
  for (const [key, p] of Object.entries(JSON.parse(text) as PeriodField)) {
    const [xp, at] = p.g ?? [0, 0];
    out.set(key, { global: { xp, at }, courses: new Map(Object.entries(p.c ?? {}).map(([c, [cxp, cat]]) => [c, { xp: cxp, at: cat }])) });
  }
  return out;
}

/** The hash fields that hold `state` (what hydration writes). */
export function learnerFields(state: LearnerState): (string | number)[] {
  const out: (string | number)[] = ['v', state.version, 'xp', state.totalXp, 'lc', state.lessonsCompleted];
  if (state.xpAt !== null) out.push('xat', state.xpAt);
  if (state.enrollments.size) out.push('cs', [...state.enrollments.keys()].join(','));
  if (state.badges.size) out.push('bs', [...state.badges.keys()].join(','));
  if (state.recentXp.length) out.push('rx', encodeRecentXp(state.recentXp));
  if (state.periods?.size) out.push('pp', encodePeriodScores(state.periods));
  for (const [lesson, at] of state.lessons) out.push(`l:${lesson}`, at);
  for (const [badge, at] of state.badges) out.push(`b:${badge}`, at);
  for (const [course, e] of state.enrollments) {
    out.push(`e:${course}`, e.enrolledAt, `ei:${course}`, e.id, `ex:${course}`, e.xpEarned, `cc:${course}`, e.lessonsCompleted);
    if (e.quizzesPassed > 0) out.push(`cq:${course}`, e.quizzesPassed);
    if (e.xpAt !== null) out.push(`exat:${course}`, e.xpAt);
    if (e.completedAt !== null) out.push(`ec:${course}`, e.completedAt);
    if (e.certificateCode !== null) out.push(`crt:${course}`, e.certificateCode);
  }
  if (state.quizzes.size) out.push(...quizCounterFields(state.quizzes));
  for (const [quiz, q] of state.quizzes) {
    out.push(`qn:${quiz}`, q.attempts, `qb:${quiz}`, q.bestScore);
    if (q.passedAt !== null) out.push(`qp:${quiz}`, q.passedAt);
  }
  const completed = [...state.enrollments.values()].filter((e) => e.completedAt !== null).length;
  if (completed > 0) out.push('crs', completed);
  if (state.videosCompleted > 0) out.push('vc', state.videosCompleted);
  if (state.activeDays.length) out.push('ad', state.activeDays.length);
  for (const day of state.activeDays) out.push(`d:${day}`, 1);
  if (state.watched.size) out.push('wt', [...state.watched.values()].reduce((sum, w) => sum + w.seconds, 0));
  for (const [lesson, w] of state.watched) out.push(`w:${lesson}`, w.seconds, `wu:${lesson}`, w.at);
  for (const [course, e] of state.enrollments) if (e.watchSeconds > 0) out.push(`cw:${course}`, e.watchSeconds);
  return out;
}

/**
 * The learner-wide quiz counters as lua/quizAttempt-3.lua keeps them, from the per-quiz record:
 * `qt` attempts, `qpc` quizzes passed, `qbs`/`qbn` sum and count of best scores, `qbm` the
 * highest best score. Pure.
 */
export function quizCounterFields(quizzes: ReadonlyMap<string, QuizState>): (string | number)[] {
  let qt = 0;
  let qpc = 0;
  let qbs = 0;
  let qbm = 0;
  for (const q of quizzes.values()) {
    qt += q.attempts;
    qbs += q.bestScore;
    qbm = Math.max(qbm, q.bestScore);
    if (q.passedAt !== null) qpc += 1;
  }
  return ['qt', qt, 'qpc', qpc, 'qbs', qbs, 'qbn', quizzes.size, 'qbm', qbm];
}

const ENROLLMENT_FIELDS = (c: string) => [`e:${c}`, `ei:${c}`, `ex:${c}`, `exat:${c}`, `cc:${c}`, `ec:${c}`, `cq:${c}`, `cw:${c}`, `crt:${c}`];
/** Values per enrollment in readLearner-1.lua's reply, after the course id. */
const ENROLLMENT_WIDTH = 9;

function enrollmentFromValues(courseId: string, v: readonly (string | null)[]): EnrollmentState | null {
  if (!v[0]) return null;
  return {
    id: v[1] ?? '',
    courseId,
    enrolledAt: Number(v[0]),
    xpEarned: Number(v[2] ?? 0),
    xpAt: numOrNull(v[3]),
    lessonsCompleted: Number(v[4] ?? 0),
    completedAt: numOrNull(v[5]),
    quizzesPassed: Number(v[6] ?? 0),
    watchSeconds: Number(v[7] ?? 0),
    certificateCode: v[8] ? v[8] : null,
  };
}

function countersFromValues(id: string, v: readonly (string | null)[]): LearnerCounters | null {
  if (v[0] === null || v[0] === undefined) return null;
  return { id, version: Number(v[0]), totalXp: Number(v[1] ?? 0), xpAt: numOrNull(v[2]), lessonsCompleted: Number(v[3] ?? 0) };
}

export interface LearnerHotStoreOptions {
  /** How long a caller's event id is remembered in Redis (the durable copy is in Postgres). */
  eventRecordTtlMs: number;
  /** How long a finished board period still takes late events (config BOARD_PERIOD_GRACE_MS). */
  boardPeriodGraceMs: number;
}

/**
 * Learners' hot state in Redis. Every change is one event applied by its kind's Lua script,
 * which checks the event id and the guards, applies the change, pays XP under its semantic
 * key, awards due badges and appends the outbox entry, atomically. Reads cost what they ask for.
 */
export class LearnerHotStore {
  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    private readonly options: LearnerHotStoreOptions,
  ) {}

  /**
   * Apply one prepared event with its kind's script. `fresh`: Postgres has never seen the
   * learner, so a missing hash is an empty learner (written only if the event applies).
   */
  async run(p: PreparedEvent, fresh = false): Promise<ScriptOutcome> {
    const e = p.event;
    const learnerKey = this.keys.learner(e.learnerId);
    const keys = [learnerKey, e.idFromCaller ? this.keys.eventRecord(e.learnerId, e.id) : learnerKey, this.keys.outboxOf(e.learnerId)];
    const header = [
      e.learnerId,
      e.idFromCaller ? e.id : '',
      e.key,
      e.occurredAt,
      e.recordedAt,
      this.options.eventRecordTtlMs,
      this.keys.channel('learner'),
      this.keys.partitionOf(e.learnerId),
      fresh ? 1 : 0,
      JSON.stringify({ ...eventContext(e), ...periodContext(e, this.options.boardPeriodGraceMs) }),
    ];
    let reply: unknown;
    switch (p.event.kind) {
      case 'ENROLLED':
        reply = await this.redis.enroll(...keys, ...header, p.courseId, p.badges.json, ...p.badges.fields);
        return this.outcome(reply, e.learnerId, (code) => (code === -1 ? new AlreadyEnrolled(p.courseId) : null));
      case 'LESSON_COMPLETED': {
        const l = p as Extract<PreparedEvent, { event: { kind: 'LESSON_COMPLETED' } }>;
        reply = await this.redis.completeLesson(...keys, ...header, l.lessonId, l.courseId, l.xp, l.video ? 1 : 0, l.courseShape, newCertificateCode(), l.badges.json, ...l.badges.fields);
        return this.outcome(reply, e.learnerId, (code) =>
          code === -1 ? new NotEnrolled(l.courseId) : code === -2 ? new AlreadyCompleted(l.lessonId) : null,
        );
      }
      case 'QUIZ_ATTEMPTED': {
        const q = p as Extract<PreparedEvent, { quizId: string }>;
        reply = await this.redis.quizAttempt(...keys, ...header, q.quizId, q.courseId, q.score, q.passScore, q.xp, q.courseShape, newCertificateCode(), q.badges.json, ...q.badges.fields);
        return this.outcome(reply, e.learnerId, (code) => (code === -1 ? new NotEnrolled(q.courseId) : null));
      }
      case 'WATCHED': {
        const w = p as Extract<PreparedEvent, { event: { kind: 'WATCHED' } }>;
        reply = await this.redis.watchLesson(
          ...keys,
          ...header,
          w.lessonId,
          w.courseId,
          w.seconds,
          w.toEnd ? 1 : 0,
          w.threshold,
          w.cap,
          w.xp,
          w.video ? 1 : 0,
          w.courseShape,
          // Kept only when this watch completes the course.
          w.threshold > 0 ? newCertificateCode() : '',
          w.badges.json,
          ...w.badges.fields,
        );
        return this.outcome(reply, e.learnerId, (code) => (code === -1 ? new NotEnrolled(w.courseId) : null));
      }
      case 'ACCESSED': {
        const a = p as Extract<PreparedEvent, { event: { kind: 'ACCESSED' } }>;
        reply = await this.redis.access(...keys, ...header, a.lessonId, a.courseId, a.badges.json, ...a.badges.fields);
        return this.outcome(reply, e.learnerId, (code) => (code === -1 ? new NotEnrolled(a.courseId) : null));
      }
    }
  }

  private outcome(reply: unknown, learnerId: string, refusal: (code: number) => DomainError | null): ScriptOutcome {
    const [code, json] = reply as [number, string | undefined];
    if (code === 1) {
      // The script's own entry JSON: trusted, so parsed without the schema on this hot path.
      return { status: 'applied', effects: effectsOfEntry(JSON.parse(json!) as OutboxEntryData) };
    }
    if (code === 0) {
      const r = JSON.parse(json!) as RecordReply;
      const effects: EventEffects = {
        kind: KIND_OF_RECORD[r.k]!,
        learnerId,
        version: r.v,
        xpAwarded: r.x,
        totalXp: r.s,
        badges: (r.aw ?? []).map(([badgeId, xp, awardedAt]) => ({ badgeId, xp, awardedAt })),
        target: r.t,
        enrollment: null,
      };
      if (r.k === 'quiz_attempted') {
        effects.attempt = { id: r.id!, quizId: r.t, score: r.sc!, attemptNumber: r.n!, passed: r.ps === true, attemptedAt: r.at! };
      }
      if (r.crt) effects.certificate = { code: r.crt.code, courseId: r.crt.c, issuedAt: r.crt.at };
      if (r.k === 'watched') effects.watch = { seconds: r.w!, completed: r.c === true, completedNow: r.cd === true };
      return { status: 'duplicate', effects };
    }
    if (code === -100) return { status: 'not_loaded' };
    const error = refusal(Number(code));
    if (!error) throw new Error(`Unexpected script reply ${String(code)} for learner ${learnerId}`);
    return { status: 'rejected', error };
  }

  /** Write a learner's hash unless it exists. @returns true when this call wrote it. */
  async hydrate(state: LearnerState): Promise<boolean> {
    return (await this.redis.hydrateLearner(this.keys.learner(state.id), ...learnerFields(state))) === 1;
  }

  /**
   * Replace a learner's hash with `state` if it is still at `expectedVersion` (see
   * lua/replaceLearner-1.lua). @returns the new epoch; `moved` when the hash changed
   * meanwhile; `absent` when it is not in Redis
   */
  async replace(state: LearnerState, expectedVersion: number): Promise<{ epoch: number } | 'moved' | 'absent'> {
    const reply = (await this.redis.replaceLearner(this.keys.learner(state.id), expectedVersion, ...learnerFields(state))) as number[];
    if (Number(reply[0]) === 1) return { epoch: Number(reply[1]) };
    return Number(reply[0]) === 0 ? 'moved' : 'absent';
  }

  /** A learner's epoch and version in Redis; null when not in Redis. */
  async stamp(learnerId: string): Promise<{ epoch: number; version: number } | null> {
    const [v, ep] = await this.redis.hmget(this.keys.learner(learnerId), 'v', 'ep');
    return v === null ? null : { epoch: Number(ep ?? 0), version: Number(v) };
  }

  /** Every field of a learner's hash (verify); null when not in Redis. */
  async raw(learnerId: string): Promise<Record<string, string> | null> {
    const h = await this.redis.hgetall(this.keys.learner(learnerId));
    return h && h.v !== undefined ? h : null;
  }

  /** Counters of several learners (one HMGET each, pipelined); null for those not in Redis. */
  counters(learnerIds: readonly string[]): Promise<(LearnerCounters | null)[]> {
    return Promise.all(
      learnerIds.map(async (id) => countersFromValues(id, await this.redis.hmget(this.keys.learner(id), 'v', 'xp', 'xat', 'lc'))),
    );
  }

  /** The counters and the asked-for parts of a learner, in one step; null when not in Redis. */
  async read(learnerId: string, parts: readonly LearnerPart[]): Promise<LearnerRead | null> {
    const flags = parts.map((p) => PART_FLAGS[p]).join('');
    const reply = (await this.redis.readLearner(this.keys.learner(learnerId), flags)) as [number, (string | null)[], string[], string[], string];
    if (reply[0] !== 1) return null;
    const out: LearnerRead = { counters: countersFromValues(learnerId, reply[1])! };
    if (parts.includes('enrollments')) {
      const flat = reply[2];
      const list: EnrollmentState[] = [];
      for (let i = 0; i + ENROLLMENT_WIDTH < flat.length; i += ENROLLMENT_WIDTH + 1) {
        const e = enrollmentFromValues(flat[i]!, flat.slice(i + 1, i + 1 + ENROLLMENT_WIDTH).map((v) => (v === '' ? null : v)));
        if (e) list.push(e);
      }
      out.enrollments = list;
    }
    if (parts.includes('badges')) {
      const flat = reply[3];
      const map = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i + 1]) map.set(flat[i]!, Number(flat[i + 1]));
      out.badges = map;
    }
    if (parts.includes('recentXp')) out.recentXp = decodeRecentXp(reply[4]);
    return out;
  }

  /**
   * How many quiz attempts the learner's hash counts (`qn:<quiz>`, or `qt` for all quizzes);
   * null when not in Redis.
   */
  async quizAttemptCount(learnerId: string, quizId: string | null): Promise<number | null> {
    const [v, n] = await this.redis.hmget(this.keys.learner(learnerId), 'v', quizId === null ? 'qt' : `qn:${quizId}`);
    return v === null ? null : Number(n ?? 0);
  }

  /** The counters of `LearnerStats` (one HMGET); null when not in Redis. */
  async statCounters(learnerId: string): Promise<StatCounters | null> {
    const v = await this.redis.hmget(this.keys.learner(learnerId), 'v', 'lc', 'vc', 'wt', 'qt', 'qpc', 'qbs', 'qbn');
    if (v[0] === null) return null;
    const n = (i: number) => Number(v[i] ?? 0);
    return { version: n(0), lessonsCompleted: n(1), videosCompleted: n(2), watchSeconds: n(3), quizzesTaken: n(4), quizzesPassed: n(5), bestScoreSum: n(6), bestScoreCount: n(7) };
  }

  /** Which of the lessons a learner completed and their best quiz scores (one HMGET); null when not in Redis. */
  async lessonQuizFacts(learnerId: string, lessonIds: readonly string[], quizIds: readonly string[]): Promise<LessonQuizFacts | null> {
    const values = await this.redis.hmget(this.keys.learner(learnerId), 'v', ...lessonIds.map((l) => `l:${l}`), ...quizIds.map((q) => `qb:${q}`));
    if (values[0] === null) return null;
    const completedLessons = new Set<string>();
    lessonIds.forEach((l, i) => {
      if (values[1 + i]) completedLessons.add(l);
    });
    const bestScores = new Map<string, number>();
    quizIds.forEach((q, i) => {
      const v = values[1 + lessonIds.length + i];
      if (v !== null && v !== undefined) bestScores.set(q, Number(v));
    });
    return { completedLessons, bestScores };
  }

  /**
   * Per lesson: completed at (`l:`), watched seconds (`w:`), last watched at (`wu:`), read
   * with one HMGET; null when not in Redis.
   */
  async lessonStates(learnerId: string, lessonIds: readonly string[]): Promise<Map<string, LessonState> | null> {
    const fields = ['v'];
    for (const l of lessonIds) fields.push(`l:${l}`, `w:${l}`, `wu:${l}`);
    const values = await this.redis.hmget(this.keys.learner(learnerId), ...fields);
    if (values[0] === null) return null;
    const out = new Map<string, LessonState>();
    lessonIds.forEach((id, i) => {
      const [done, w, wu] = values.slice(1 + i * 3, 4 + i * 3);
      out.set(id, { completedAt: numOrNull(done), watchSeconds: Number(w ?? 0), watchedAt: numOrNull(wu) });
    });
    return out;
  }

  /** One enrollment (null when not enrolled or not in Redis). */
  async enrollment(learnerId: string, courseId: string): Promise<EnrollmentState | null> {
    return enrollmentFromValues(courseId, await this.redis.hmget(this.keys.learner(learnerId), ...ENROLLMENT_FIELDS(courseId)));
  }
}
