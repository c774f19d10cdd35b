import { AlreadyCompleted, AlreadyEnrolled, NotEnrolled, Unavailable, type DomainError } from '../../domain/errors';
import type { PreparedEvent } from '../../domain/events/prepare';
import type { EventEffects, LearningEvent, Outcome } from '../../domain/events/types';
import type { EnrollmentState, LearnerCounters, LearnerState, LessonQuizFacts, StatCounters, XpTransaction } from '../../domain/learners/state';
import { newCertificateCode } from '../../domain/progress/certificates';
import type { LessonState } from '../../domain/progress/lessons';
import { effectsOfEntry, KIND_OF, type OutboxEntryData, type OutboxKind } from '../outbox/entry';
import { eventContext, periodContext, ZoneCache } from './eventContext';
import { decodeZoneHistory, type ZoneHistory } from '../../domain/engagement/zones';
import { hasDay } from './dayBitmap';
import type { EngagementFacts } from '../../domain/engagement/facts';
import { decodeGoalDays, decodeStanding, GOAL_KINDS } from '../../domain/engagement/goals';
import type { Keys } from './keys';
import { countersFromValues, decodeRecentXp, ENROLLMENT_FIELDS, ENROLLMENT_WIDTH, enrollmentFromValues, learnerFields, numOrNull } from './learnerHash';
import type { ScriptedClient } from './scripts';

/** Runs of a learner script with a new zone history before its event is refused as retryable. */
const MAX_ZONE_RETRIES = 8;

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



export interface LearnerHotStoreOptions {
  /** How long a caller's event id is remembered in Redis (the durable copy is in Postgres). */
  eventRecordTtlMs: number;
  /** XP a completed daily goal pays (0: none). */
  goalBonusXp?: number;
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

  /** Zone histories of learners who set a zone (a miss costs one more script run, never a wrong day). */
  readonly zones = new ZoneCache();

  /**
   * Apply one prepared event with its kind's script. `fresh`: Postgres has never seen the
   * learner, so a missing hash is an empty learner (written only if the event applies).
   */
  async run(p: PreparedEvent, fresh = false): Promise<ScriptOutcome> {
    // The day is computed with the zone history this process knows; a script that finds
    // another answers it (-101), and the event runs again with it. Each answer is the
    // learner's current history, so the second run only misses if the zone changes again.
    for (let attempt = 0; ; attempt += 1) {
      const reply = await this.runOnce(p, fresh, this.zones.get(p.event.learnerId));
      if (!Array.isArray(reply) || Number(reply[0]) !== -101) return this.outcomeOf(p, reply);
      this.zones.set(p.event.learnerId, String(reply[1] ?? ''));
      // The zone moved before every run (updateProfile's budget makes that rare): this event
      // alone is refused as retryable, nothing of it applied; the batch's others go on.
      if (attempt >= MAX_ZONE_RETRIES) {
        return { status: 'rejected', error: new Unavailable('Your time zone changed while this was being recorded; send it again.', 'ZONE_CHANGING') };
      }
    }
  }

  private outcomeOf(p: PreparedEvent, reply: unknown): ScriptOutcome {
    const id = p.event.learnerId;
    switch (p.event.kind) {
      case 'ENROLLED':
        return this.outcome(reply, id, (code) => (code === -1 ? new AlreadyEnrolled((p as Extract<PreparedEvent, { event: { kind: 'ENROLLED' } }>).courseId) : null));
      case 'LESSON_COMPLETED': {
        const l = p as Extract<PreparedEvent, { event: { kind: 'LESSON_COMPLETED' } }>;
        return this.outcome(reply, id, (code) => (code === -1 ? new NotEnrolled(l.courseId) : code === -2 ? new AlreadyCompleted(l.lessonId) : null));
      }
      case 'QUIZ_ATTEMPTED':
      case 'WATCHED':
      case 'ACCESSED': {
        const courseId = (p as { courseId: string }).courseId;
        return this.outcome(reply, id, (code) => (code === -1 ? new NotEnrolled(courseId) : null));
      }
      case 'LOGGED_IN':
      case 'PROFILE_UPDATED':
      case 'GOAL_SET':
        return this.outcome(reply, id, () => null);
    }
  }

  private async runOnce(p: PreparedEvent, fresh: boolean, zones: ZoneHistory): Promise<unknown> {
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
      JSON.stringify({ ...eventContext(e, zones, this.options.goalBonusXp ?? 0), ...periodContext(e, this.options.boardPeriodGraceMs) }),
    ];
    switch (p.event.kind) {
      case 'ENROLLED': {
        const en = p as Extract<PreparedEvent, { event: { kind: 'ENROLLED' } }>;
        return this.redis.enroll(...keys, ...header, en.courseId, en.badges.json, ...en.badges.fields);
      }
      case 'LESSON_COMPLETED': {
        const l = p as Extract<PreparedEvent, { event: { kind: 'LESSON_COMPLETED' } }>;
        return this.redis.completeLesson(...keys, ...header, l.lessonId, l.courseId, l.xp, l.video ? 1 : 0, l.courseShape, newCertificateCode(), l.badges.json, ...l.badges.fields);
      }
      case 'QUIZ_ATTEMPTED': {
        const q = p as Extract<PreparedEvent, { quizId: string }>;
        return this.redis.quizAttempt(...keys, ...header, q.quizId, q.courseId, q.score, q.passScore, q.xp, q.courseShape, newCertificateCode(), q.badges.json, ...q.badges.fields);
      }
      case 'WATCHED': {
        const w = p as Extract<PreparedEvent, { event: { kind: 'WATCHED' } }>;
        return this.redis.watchLesson(
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
      }
      case 'ACCESSED': {
        const a = p as Extract<PreparedEvent, { event: { kind: 'ACCESSED' } }>;
        return this.redis.access(...keys, ...header, a.lessonId, a.courseId, a.badges.json, ...a.badges.fields);
      }
      case 'LOGGED_IN': {
        const l = p as Extract<PreparedEvent, { event: { kind: 'LOGGED_IN' } }>;
        return this.redis.login(...keys, ...header, l.badges.json, ...l.badges.fields);
      }
      case 'PROFILE_UPDATED': {
        const { displayName, timeZone } = (p.event as LearningEvent<'PROFILE_UPDATED'>).payload;
        return this.redis.profile(...keys, ...header, displayName === undefined ? 0 : 1, displayName ?? '', timeZone ?? '');
      }
      case 'GOAL_SET': {
        const g = p as Extract<PreparedEvent, { event: { kind: 'GOAL_SET' } }>;
        return this.redis.goal(...keys, ...header, GOAL_KINDS.indexOf(g.event.payload.kind) + 1, g.event.payload.target, g.badges.json, ...g.badges.fields);
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
        kind: KIND_OF[r.k as OutboxKind],
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

  /**
   * Every field of a learner's hash (verify); null when not in Redis. Text, but for the day
   * bitmap `days`: binary, one character per byte (latin1; `Buffer.from(days, 'latin1')`).
   */
  async raw(learnerId: string): Promise<Record<string, string> | null> {
    const b = await this.redis.hgetallBuffer(this.keys.learner(learnerId));
    const h: Record<string, string> = {};
    for (const [field, value] of Object.entries(b ?? {})) h[field] = value.toString(field === 'days' ? 'latin1' : 'utf8');
    return h.v !== undefined ? h : null;
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

  /**
   * Profile and streak facts (one HMGET): display name, zone history, the streak fields and
   * whether the UTC days around `at` are active; null when not in Redis.
   */
  async engagement(learnerId: string, at: number): Promise<EngagementFacts | null> {
    const day = Math.floor(at / 86_400_000);
    // One HMGET, binary-safe for the day bitmap (`days`); the other fields are text.
    const b = await this.redis.hmgetBuffer(this.keys.learner(learnerId), 'v', 'dn', 'tzh', 'sk', 'sd', 'sf', 'sl', 'days', 'd0', 'gt', 'gtd', 'gr', `d:${day - 1}`, `d:${day}`, `d:${day + 1}`);
    if (b[0] === null) return null;
    const v = b.map((x) => (x === null ? null : x.toString()));
    const bits = b[7];
    const activeNear = new Set<number>();
    if (bits && v[8] !== null) for (let d = day - 1; d <= day + 1; d += 1) if (hasDay(Number(v[8]), bits, d)) activeNear.add(d);
    // A hash from before the bitmap keeps d:<day> fields until its next event converts it.
    for (let i = 0; i < 3; i += 1) if (v[12 + i]) activeNear.add(day - 1 + i);
    const standing = decodeStanding(v[9], Number(v[10] ?? 0));
    return {
      displayName: v[1] ? v[1] : null,
      zones: decodeZoneHistory(v[2]),
      streak: { run: Number(v[3] ?? 0), last: v[4] ? Number(v[4]) : null, freezes: Number(v[5] ?? 0), longest: Number(v[6] ?? 0) },
      activeNear,
      goalTargets: standing.targets,
      goalTargetsFrom: standing.from,
      goalDays: decodeGoalDays(v[11]),
    };
  }

  /**
   * Numeric fields of a learner's hash, in the order asked, read as the scripts read them (an
   * absent field is 0), with one HMGET; null when not in Redis.
   */
  async numbers(learnerId: string, fields: readonly string[]): Promise<number[] | null> {
    const values = await this.redis.hmget(this.keys.learner(learnerId), 'v', ...fields);
    if (values[0] === null) return null;
    return values.slice(1).map((v) => {
      const n = Number(v ?? 0);
      return Number.isFinite(n) ? n : 0;
    });
  }
}
