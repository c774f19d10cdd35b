import { AlreadyCompleted, AlreadyEnrolled, NotEnrolled } from '../../domain/errors';
import type { EnrollmentState, LearnerState, StateNeeds, XpTransaction } from '../../domain/learners/state';
import type { Keys } from './keys';
import type { ScriptedRedis } from './scripts';

/** The learner's hash is not in Redis: hydrate it from Postgres, then retry. */
export class LearnerNotLoaded extends Error {
  constructor(readonly learnerId: string) {
    super(`Learner ${learnerId} is not loaded in Redis.`);
  }
}

/** The badge was already held; nothing changed. */
export class BadgeAlreadyHeld extends Error {
  constructor(readonly badgeId: string) {
    super(`Badge ${badgeId} is already held.`);
  }
}

const num = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
const numOrNull = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

/**
 * Parse a learner hash (HGETALL as a flat field/value list or an object) into a LearnerState.
 * Field layout: xp, v, xat, lc; l:<lesson>; e:/ei:/ex:/exat:/cc:/ec:<course>; b:<badge>.
 */
export function parseLearner(learnerId: string, hash: Record<string, string> | readonly (string | number | null)[]): LearnerState {
  let h: Record<string, string>;
  if (Array.isArray(hash)) {
    h = {};
    for (let i = 0; i + 1 < hash.length; i += 2) h[String(hash[i])] = String(hash[i + 1]);
  } else {
    h = hash as Record<string, string>;
  }
  const lessons = new Map<string, number>();
  const enrollments = new Map<string, EnrollmentState>();
  const badges = new Map<string, number>();
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith('l:')) lessons.set(field.slice(2), Number(value));
    else if (field.startsWith('b:')) badges.set(field.slice(2), Number(value));
    else if (field.startsWith('e:')) {
      const course = field.slice(2);
      enrollments.set(course, {
        id: h[`ei:${course}`] ?? '',
        courseId: course,
        enrolledAt: Number(value),
        xpEarned: num(h[`ex:${course}`]),
        xpAt: numOrNull(h[`exat:${course}`]),
        lessonsCompleted: num(h[`cc:${course}`]),
        completedAt: numOrNull(h[`ec:${course}`]),
      });
    }
  }
  return {
    id: learnerId,
    totalXp: num(h.xp),
    version: num(h.v),
    xpAt: numOrNull(h.xat),
    lessonsCompleted: num(h.lc),
    lessons,
    enrollments,
    badges,
  };
}

/** The hash fields that hold `state` (the inverse of parseLearner). */
export function learnerFields(state: LearnerState): (string | number)[] {
  const out: (string | number)[] = ['xp', state.totalXp, 'v', state.version, 'lc', state.lessonsCompleted];
  if (state.xpAt !== null) out.push('xat', state.xpAt);
  for (const [lesson, at] of state.lessons) out.push(`l:${lesson}`, at);
  for (const [badge, at] of state.badges) out.push(`b:${badge}`, at);
  for (const [course, e] of state.enrollments) {
    out.push(`e:${course}`, e.enrolledAt, `ei:${course}`, e.id, `ex:${course}`, e.xpEarned, `cc:${course}`, e.lessonsCompleted);
    if (e.xpAt !== null) out.push(`exat:${course}`, e.xpAt);
    if (e.completedAt !== null) out.push(`ec:${course}`, e.completedAt);
  }
  return out;
}

const fieldCache = new WeakMap<StateNeeds, string[]>();

/** The hash fields that hold what `needs` asks for (made once per needs object). */
export function fieldsFor(needs: StateNeeds): string[] {
  let out = fieldCache.get(needs);
  if (!out) {
    out = [];
    for (const c of needs.courseIds) out.push(`e:${c}`, `ei:${c}`, `ex:${c}`, `exat:${c}`, `cc:${c}`, `ec:${c}`);
    for (const b of needs.badgeIds) out.push(`b:${b}`);
    fieldCache.set(needs, out);
  }
  return out;
}

/**
 * Learners' hot state in Redis. Every change is one Lua script that checks its guard,
 * applies the change and appends to the partition's outbox, atomically.
 */
export class LearnerHotStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /** The learner's state, or null when their hash is not in Redis. */
  async read(learnerId: string): Promise<LearnerState | null> {
    const hash = await this.redis.hgetall(this.keys.learner(learnerId));
    return Object.keys(hash).length === 0 ? null : parseLearner(learnerId, hash);
  }

  /** Several learners' states in one round trip; null for those not in Redis. */
  async readMany(learnerIds: readonly string[]): Promise<(LearnerState | null)[]> {
    if (learnerIds.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of learnerIds) pipe.hgetall(this.keys.learner(id));
    const results = (await pipe.exec()) ?? [];
    return learnerIds.map((id, i) => {
      const [err, hash] = results[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const h = hash as Record<string, string>;
      return Object.keys(h).length === 0 ? null : parseLearner(id, h);
    });
  }

  /** Write a learner's hash unless it exists. @returns true when this call wrote it. */
  async hydrate(state: LearnerState): Promise<boolean> {
    const written = await this.redis.hydrateLearner(this.keys.learner(state.id), ...learnerFields(state));
    return written === 1;
  }

  /**
   * Enroll once.
   * @throws LearnerNotLoaded, AlreadyEnrolled
   */
  async enroll(learnerId: string, courseId: string, enrollmentId: string, now: number, needs: StateNeeds): Promise<LearnerState> {
    const reply = await this.redis.enroll(
      this.keys.learner(learnerId),
      this.keys.outboxOf(learnerId),
      learnerId,
      courseId,
      enrollmentId,
      now,
      ...fieldsFor(needs),
    );
    return this.stateOrThrow(learnerId, reply, { '-1': () => new AlreadyEnrolled(courseId) });
  }

  /**
   * Complete a lesson once and pay `xp`.
   * @throws LearnerNotLoaded, NotEnrolled, AlreadyCompleted
   */
  async completeLesson(
    learnerId: string,
    lesson: { id: string; courseId: string; xp: number },
    txId: string,
    now: number,
    needs: StateNeeds,
  ): Promise<LearnerState> {
    const reply = await this.redis.completeLesson(
      this.keys.learner(learnerId),
      this.keys.recentXp(learnerId),
      this.keys.outboxOf(learnerId),
      learnerId,
      lesson.id,
      lesson.courseId,
      lesson.xp,
      txId,
      now,
      ...fieldsFor(needs),
    );
    return this.stateOrThrow(learnerId, reply, {
      '-1': () => new NotEnrolled(lesson.courseId),
      '-2': () => new AlreadyCompleted(lesson.id),
    });
  }

  /**
   * Award a badge once and pay `xp`.
   * @throws LearnerNotLoaded, BadgeAlreadyHeld
   */
  async awardBadge(learnerId: string, badgeId: string, xp: number, txId: string, now: number, needs: StateNeeds): Promise<LearnerState> {
    const reply = await this.redis.awardBadge(
      this.keys.learner(learnerId),
      this.keys.recentXp(learnerId),
      this.keys.outboxOf(learnerId),
      learnerId,
      badgeId,
      xp,
      txId,
      now,
      ...fieldsFor(needs),
    );
    return this.stateOrThrow(learnerId, reply, { '-3': () => new BadgeAlreadyHeld(badgeId) });
  }

  /** The learner's newest XP awards (at most 50), newest first; they may not be in Postgres yet. */
  async recentXp(learnerId: string): Promise<XpTransaction[]> {
    const rows = await this.redis.lrange(this.keys.recentXp(learnerId), 0, -1);
    return rows.map((row) => {
      const r = JSON.parse(row) as { id: string; a: number; r: string; s?: string; t: number };
      return { id: r.id, amount: r.a, reason: r.r, sourceId: r.s ?? null, occurredAt: r.t };
    });
  }

  private stateOrThrow(
    learnerId: string,
    reply: unknown,
    errors: Record<string, () => Error>,
  ): LearnerState {
    const list = reply as (string | number)[];
    const code = Number(list[0]);
    if (code === 1) return parseLearner(learnerId, list.slice(1));
    if (code === -100) throw new LearnerNotLoaded(learnerId);
    const make = errors[String(code)];
    throw make ? make() : new Error(`Unexpected script reply ${code}`);
  }
}
