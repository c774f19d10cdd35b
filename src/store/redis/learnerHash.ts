import type { EnrollmentState, LearnerCounters, LearnerState, PeriodScores, QuizState, XpTransaction } from '../../domain/learners/state';
import { decodeZoneHistory, zoneVersion } from '../../domain/engagement/zones';
import { streakStateOf } from '../../domain/engagement/streak';
import { encodeGoalDays } from '../../domain/engagement/goals';
import { encodeDays } from './dayBitmap';

/**
 * The layout of a learner's hash in Redis, shared by the scripts (lua/) and this code: the
 * fields a learner state is written as (hydration, rebuilds) and how the encoded ones (recent
 * XP, period scores, enrollments, counters) are read back.
 */

/** A positive number, or null for 0 and missing (times and ids a hash leaves unset). */
export const numOrNull = (v: number | string | null | undefined): number | null => {
  const n = Number(v ?? 0);
  return n > 0 ? n : null;
};

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
export function learnerFields(state: LearnerState): (string | number | Buffer)[] {
  const out: (string | number | Buffer)[] = ['v', state.version, 'xp', state.totalXp, 'lc', state.lessonsCompleted];
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
  // The day set as one bitmap field (lua/includes/activeDay.lua): binary, so a Buffer.
  const bitmap = encodeDays(state.activeDays);
  if (bitmap) out.push('days', bitmap.bits, 'd0', bitmap.d0);
  // The streak as the scripts keep it (lua/includes/activeDay.lua), from the same days.
  const streak = streakStateOf(state.activeDays);
  if (streak.last !== null) out.push('sk', streak.run, 'sf', streak.freezes, 'sl', streak.longest, 'sd', streak.last);
  if (state.displayName !== null) out.push('dn', state.displayName);
  if (state.goalTargets !== '') out.push('gt', state.goalTargets, 'gtd', state.goalTargetsDay);
  if (state.goalDays.length) out.push('gr', encodeGoalDays(state.goalDays));
  if (state.goalsCompleted > 0) out.push('gc', state.goalsCompleted);
  if (state.zoneHistory !== '') out.push('tzh', state.zoneHistory, 'tzv', zoneVersion(decodeZoneHistory(state.zoneHistory)));
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

export const ENROLLMENT_FIELDS = (c: string) => [`e:${c}`, `ei:${c}`, `ex:${c}`, `exat:${c}`, `cc:${c}`, `ec:${c}`, `cq:${c}`, `cw:${c}`, `crt:${c}`];
/** Values per enrollment in readLearner-1.lua's reply, after the course id. */
export const ENROLLMENT_WIDTH = 9;

export function enrollmentFromValues(courseId: string, v: readonly (string | null)[]): EnrollmentState | null {
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

export function countersFromValues(id: string, v: readonly (string | null)[]): LearnerCounters | null {
  if (v[0] === null || v[0] === undefined) return null;
  return { id, version: Number(v[0]), totalXp: Number(v[1] ?? 0), xpAt: numOrNull(v[2]), lessonsCompleted: Number(v[3] ?? 0) };
}
