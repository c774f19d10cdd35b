import { parsePeriodKey } from '../domain/boards/periods';
import { boardIdOf } from '../domain/boards/rules';
import type { PeriodScores } from '../domain/learners/state';
import { streakStateOf, type StreakState } from '../domain/engagement/streak';
import { decodeDays } from './redis/dayBitmap';
import { encodeGoalDays } from '../domain/engagement/goals';
import type { DurableAudit } from './pg/learners';
import { decodePeriodScores } from './redis/learnerHash';

/**
 * One learner's Redis hash against their durable record in Postgres (the rules are listed in
 * verify.ts's module comment), and the board scores they should have. Pure.
 */

export type Verdict = { state: 'ok' } | { state: 'ahead' } | { state: 'drift'; problems: string[] };

/** What a learner's Redis hash says, parsed. */
interface HotView {
  epoch: number;
  version: number;
  xp: number;
  lessonsCompleted: number;
  lessons: string[];
  badges: string[];
  courses: Map<string, number>;
  /** Quizzes passed per enrolled course (`cq:`). */
  coursePasses: Map<string, number>;
  /** Per quiz attempted: attempts, best score, whether passed. */
  quizzes: Map<string, { attempts: number; best: number; passed: boolean }>;
  /** The counters qt, qpc, qbs, qbn, qbm. */
  quizCounters: { qt: number; qpc: number; qbs: number; qbn: number; qbm: number };
  /** Seconds watched per lesson (`w:`), per enrolled course (`cw:`), in all (`wt`); videos completed (`vc`). */
  watched: Map<string, number>;
  courseWatch: Map<string, number>;
  wt: number;
  vc: number;
  /** Completed enrollments: completedAt (`ec:`) and certificate code (`crt:`); `crs` the count. */
  completions: Map<string, { at: number | null; code: string | null }>;
  crs: number;
  /** Active days: `ad`, and the days marked (the `days` bitmap; `d:<day>` fields in a hash not converted yet). */
  ad: number;
  daysMarked: number;
  /** Board period scores (`pp`), periodKey -> scores. */
  periods: Map<string, PeriodScores>;
  /** Daily goals (lua/includes/goals.lua): standing targets `gt`, recent days `gr`, goals completed `gc`. */
  goalTargets: string;
  goalDays: string;
  gc: number;
  /** The streak fields (sk, sf, sl, sd), and what the days marked give (lua/includes/activeDay.lua). */
  streak: StreakState;
  streakOfDays: StreakState;
}

function hotView(h: Record<string, string>): HotView {
  const lessons: string[] = [];
  const badges: string[] = [];
  const courses = new Map<string, number>();
  const coursePasses = new Map<string, number>();
  const quizzes = new Map<string, { attempts: number; best: number; passed: boolean }>();
  const watched = new Map<string, number>();
  const courseWatch = new Map<string, number>();
  const completions = new Map<string, { at: number | null; code: string | null }>();
  // The day bitmap (raw() reads it as latin1, one character per byte), and any d: fields left
  // from before it (converted by the learner's next event that marks a day).
  const marked = new Set<number>(h.days !== undefined ? decodeDays(Number(h.d0 ?? 0), Buffer.from(h.days, 'latin1')) : []);
  for (const field of Object.keys(h)) {
    if (field.startsWith('d:')) marked.add(Number(field.slice(2)));
    else if (field.startsWith('l:')) lessons.push(field.slice(2));
    else if (field.startsWith('b:')) badges.push(field.slice(2));
    else if (field.startsWith('e:')) {
      const course = field.slice(2);
      courses.set(course, Number(h[`ex:${course}`] ?? 0));
      coursePasses.set(course, Number(h[`cq:${course}`] ?? 0));
      courseWatch.set(course, Number(h[`cw:${course}`] ?? 0));
      const at = h[`ec:${course}`];
      const code = h[`crt:${course}`];
      if (at !== undefined || code !== undefined) completions.set(course, { at: at === undefined ? null : Number(at), code: code ?? null });
    } else if (field.startsWith('w:')) {
      watched.set(field.slice(2), Number(h[field]));
    } else if (field.startsWith('qn:')) {
      const quiz = field.slice(3);
      quizzes.set(quiz, { attempts: Number(h[field]), best: Number(h[`qb:${quiz}`] ?? 0), passed: h[`qp:${quiz}`] !== undefined });
    }
  }
  return {
    epoch: Number(h.ep ?? 0),
    version: Number(h.v),
    xp: Number(h.xp ?? 0),
    lessonsCompleted: Number(h.lc ?? 0),
    lessons: lessons.sort(),
    badges: badges.sort(),
    courses,
    coursePasses,
    quizzes,
    quizCounters: { qt: Number(h.qt ?? 0), qpc: Number(h.qpc ?? 0), qbs: Number(h.qbs ?? 0), qbn: Number(h.qbn ?? 0), qbm: Number(h.qbm ?? 0) },
    watched,
    courseWatch,
    wt: Number(h.wt ?? 0),
    vc: Number(h.vc ?? 0),
    completions,
    crs: Number(h.crs ?? 0),
    ad: Number(h.ad ?? 0),
    daysMarked: marked.size,
    periods: decodePeriodScores(h.pp),
    goalTargets: h.gt ?? '',
    goalDays: h.gr ?? '',
    gc: Number(h.gc ?? 0),
    streak: { run: Number(h.sk ?? 0), last: h.sd === undefined ? null : Number(h.sd), freezes: Number(h.sf ?? 0), longest: Number(h.sl ?? 0) },
    streakOfDays: streakStateOf([...marked]),
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const diffList = (a: readonly string[], b: readonly string[]) => {
  const sa = new Set(a);
  const sb = new Set(b);
  const only = (x: Set<string>, y: Set<string>) => [...x].filter((v) => !y.has(v)).slice(0, 5);
  return `Redis only: [${only(sa, sb).join(', ')}], Postgres only: [${only(sb, sa).join(', ')}]`;
};

/** The durable record's own consistency: snapshot against facts. */
function durableProblems(p: DurableAudit): string[] {
  const problems: string[] = [];
  if (p.totalXp !== p.ledgerXp) problems.push(`Postgres total ${p.totalXp} vs ledger sum ${p.ledgerXp}`);
  if (p.lessonsCompleted !== p.lessons.length) problems.push(`Postgres lessons completed ${p.lessonsCompleted} vs ${p.lessons.length} progress rows`);
  for (const [course, c] of p.courses) {
    if (c.xpEarned !== c.ledgerXp) problems.push(`Postgres course ${course} XP ${c.xpEarned} vs ledger ${c.ledgerXp}`);
    if (c.quizzesPassed !== c.passedQuizzes) problems.push(`Postgres course ${course} quizzes passed ${c.quizzesPassed} vs ${c.passedQuizzes} in the attempts`);
    if (c.watchSeconds !== c.watchedSeconds) problems.push(`Postgres course ${course} watched ${c.watchSeconds} s vs ${c.watchedSeconds} s in the progress rows`);
    if ((c.completedAt === null) !== (c.certificate === null)) {
      problems.push(`Postgres course ${course}: ${c.completedAt === null ? 'a certificate without a completion' : 'completed without a certificate'}`);
    }
  }
  for (const [quiz, q] of p.quizzes) {
    if (q.rows !== q.attempts) problems.push(`Postgres quiz ${quiz}: ${q.rows} attempt rows for ${q.attempts} attempts`);
  }
  return problems;
}

/** Redis's quiz fields against the attempt rows. Pure. */
function quizProblems(r: HotView, p: DurableAudit): string[] {
  const problems: string[] = [];
  const want = { qt: 0, qpc: 0, qbs: 0, qbn: p.quizzes.size, qbm: 0 };
  for (const q of p.quizzes.values()) {
    want.qt += q.attempts;
    want.qbs += q.best;
    want.qbm = Math.max(want.qbm, q.best);
    if (q.passed) want.qpc += 1;
  }
  for (const name of ['qt', 'qpc', 'qbs', 'qbn', 'qbm'] as const) {
    if (r.quizCounters[name] !== want[name]) problems.push(`Redis ${name} ${r.quizCounters[name]} vs ${want[name]} from the quiz attempts`);
  }
  const ids = [...new Set([...r.quizzes.keys(), ...p.quizzes.keys()])].sort();
  for (const quiz of ids) {
    const a = r.quizzes.get(quiz);
    const b = p.quizzes.get(quiz);
    const show = (q: { attempts: number; best: number; passed: boolean } | undefined) => (q ? `${q.attempts} attempts, best ${q.best}${q.passed ? ', passed' : ''}` : 'nothing');
    if (!a || !b || a.attempts !== b.attempts || a.best !== b.best || a.passed !== b.passed) {
      problems.push(`quiz ${quiz}: Redis ${show(a)}, Postgres ${show(b)}`);
    }
  }
  for (const [course, passes] of r.coursePasses) {
    const d = p.courses.get(course);
    if (d && passes !== d.passedQuizzes) problems.push(`Redis course ${course} quizzes passed ${passes} vs ${d.passedQuizzes} in the attempts`);
  }
  return problems;
}

/** Redis's watch fields against the progress rows. Pure. */
function watchProblems(r: HotView, p: DurableAudit): string[] {
  const problems: string[] = [];
  let sum = 0;
  for (const s of p.watched.values()) sum += s;
  if (r.wt !== sum) problems.push(`Redis wt ${r.wt} vs ${sum} from the progress rows`);
  if (r.vc !== p.videosCompleted) problems.push(`Redis vc ${r.vc} vs ${p.videosCompleted} completed video rows`);
  const ids = [...new Set([...r.watched.keys(), ...p.watched.keys()])].sort();
  for (const lesson of ids) {
    const a = r.watched.get(lesson) ?? 0;
    const b = p.watched.get(lesson) ?? 0;
    if (a !== b) problems.push(`lesson ${lesson} watched: Redis ${a} s, Postgres ${b} s`);
  }
  for (const [course, seconds] of r.courseWatch) {
    const d = p.courses.get(course);
    if (d && seconds !== d.watchedSeconds) problems.push(`Redis course ${course} watched ${seconds} s vs ${d.watchedSeconds} s in the progress rows`);
  }
  return problems;
}

/** Redis's course completions and certificates against the enrollments and certificate rows. Pure. */
function completionProblems(r: HotView, p: DurableAudit): string[] {
  const problems: string[] = [];
  let completed = 0;
  for (const [course, c] of r.completions) {
    if (c.at !== null) completed += 1;
    if ((c.at === null) !== (c.code === null)) problems.push(`Redis course ${course}: ${c.at === null ? 'a certificate without a completion' : 'completed without a certificate'}`);
  }
  if (r.crs !== completed) problems.push(`Redis crs ${r.crs} vs ${completed} completed enrollments`);
  for (const course of [...new Set([...r.completions.keys(), ...[...p.courses].filter(([, c]) => c.completedAt !== null || c.certificate !== null).map(([id]) => id)])].sort()) {
    const a = r.completions.get(course) ?? { at: null, code: null };
    const b = p.courses.get(course);
    if (!b) continue;
    if (a.at !== b.completedAt) problems.push(`course ${course} completed: Redis ${a.at ?? 'no'}, Postgres ${b.completedAt ?? 'no'}`);
    if (a.code !== b.certificate) problems.push(`course ${course} certificate: Redis ${a.code ?? 'none'}, Postgres ${b.certificate ?? 'none'}`);
  }
  return problems;
}

/** Whether a learner's hash must hold `key`'s scores at the audit's time (a period that can still change). */
function kept(p: DurableAudit, key: string): boolean {
  const period = parsePeriodKey(key);
  return period !== null && key >= p.periodsKeptFrom[period.kind];
}

/**
 * Redis's board period scores (`pp`) against the ledger rows that counted in those periods, for
 * the periods that can still change (older ones are frozen, dropped from the hash on its next
 * award, and checked on their boards against the ledger). Pure.
 */
function periodProblems(r: HotView, p: DurableAudit): string[] {
  const problems: string[] = [];
  const keys = [...new Set([...r.periods.keys(), ...p.periods.keys()])].filter((key) => kept(p, key)).sort();
  const show = (s: { xp: number; at: number } | undefined) => (s ? `${s.xp} XP at ${s.at}` : 'nothing');
  for (const key of keys) {
    const a = r.periods.get(key);
    const b = p.periods.get(key);
    if (a?.global.xp !== b?.global.xp || a?.global.at !== b?.global.at) problems.push(`period ${key}: Redis ${show(a?.global)}, ledger ${show(b?.global)}`);
    for (const course of [...new Set([...(a?.courses.keys() ?? []), ...(b?.courses.keys() ?? [])])].sort()) {
      const x = a?.courses.get(course);
      const y = b?.courses.get(course);
      if (x?.xp !== y?.xp || x?.at !== y?.at) problems.push(`period ${key} course ${course}: Redis ${show(x)}, ledger ${show(y)}`);
    }
  }
  return problems;
}

/** Compare one learner's Redis hash with their durable record. Pure. */
export function compareLearner(hot: Record<string, string> | null, durable: DurableAudit | null): Verdict {
  if (!hot && !durable) return { state: 'ok' };
  if (!hot) {
    const problems = durableProblems(durable!);
    return problems.length ? { state: 'drift', problems } : { state: 'ok' };
  }
  const r = hotView(hot);
  // Not in Postgres yet: on its way (a new learner), unless it stays so.
  if (!durable) return { state: 'ahead' };
  const p = durable;
  if (r.epoch < p.epoch) return { state: 'drift', problems: [`Redis at an older epoch than Postgres (${r.epoch}:${r.version} vs ${p.epoch}:${p.version}): Redis fell behind`] };
  if (r.version > p.version) return { state: 'ahead' };
  if (r.version < p.version) return { state: 'drift', problems: [`Redis at version ${r.version}, Postgres at ${p.version}: Redis fell behind`] };
  const problems = durableProblems(p);
  if (r.xp !== p.ledgerXp) problems.push(`Redis total ${r.xp} vs ledger sum ${p.ledgerXp}`);
  if (r.lessonsCompleted !== p.lessons.length) problems.push(`Redis lessons completed ${r.lessonsCompleted} vs ${p.lessons.length} progress rows`);
  if (!sameList(r.lessons, p.lessons)) problems.push(`completed lessons differ (${diffList(r.lessons, p.lessons)})`);
  if (!sameList(r.badges, p.badges)) problems.push(`badges differ (${diffList(r.badges, p.badges)})`);
  const rc = [...r.courses.keys()].sort();
  const pc = [...p.courses.keys()].sort();
  if (!sameList(rc, pc)) problems.push(`enrollments differ (${diffList(rc, pc)})`);
  for (const [course, xp] of r.courses) {
    const d = p.courses.get(course);
    if (d && xp !== d.ledgerXp) problems.push(`Redis course ${course} XP ${xp} vs ledger ${d.ledgerXp}`);
  }
  problems.push(...quizProblems(r, p));
  problems.push(...watchProblems(r, p));
  problems.push(...completionProblems(r, p));
  if (r.ad !== r.daysMarked) problems.push(`Redis ad ${r.ad} vs ${r.daysMarked} days marked`);
  if (r.ad !== p.activeDays) problems.push(`Redis ad ${r.ad} vs ${p.activeDays} active days in Postgres`);
  problems.push(...periodProblems(r, p));
  if (r.gc !== p.goalsCompleted) problems.push(`Redis goals completed ${r.gc} vs ${p.goalsCompleted} in daily_goals`);
  if (r.goalTargets !== p.goalTargets) problems.push(`Redis goal targets "${r.goalTargets}" vs "${p.goalTargets}" in Postgres`);
  const pgDays = encodeGoalDays(p.goalDays);
  if (r.goalDays !== pgDays) problems.push(`Redis goal days "${r.goalDays.slice(0, 120)}" vs "${pgDays.slice(0, 120)}" in daily_goals`);
  const a = r.streak;
  const b = r.streakOfDays;
  if (a.run !== b.run || a.last !== b.last || a.freezes !== b.freezes || a.longest !== b.longest) {
    problems.push(`Redis streak (sk ${a.run}, sf ${a.freezes}, sl ${a.longest}, sd ${a.last ?? 'none'}) vs (${b.run}, ${b.freezes}, ${b.longest}, ${b.last ?? 'none'}) from its ${r.daysMarked} days marked`);
  }
  return problems.length ? { state: 'drift', problems } : { state: 'ok' };
}

/**
 * Scores a learner should have on each board (only those above 0), from Redis or else Postgres.
 * Period boards: from the hash for the periods it keeps (they can still change), from the
 * ledger for the frozen ones still retained.
 */
export function expectedScores(hot: Record<string, string> | null, durable: DurableAudit | null): Map<string, number> {
  const out = new Map<string, number>();
  const periods = new Map<string, PeriodScores>(durable?.periods ?? []);
  if (hot) {
    const r = hotView(hot);
    if (r.xp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: null }), r.xp);
    for (const [c, xp] of r.courses) if (xp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: c }), xp);
    for (const [key, s] of r.periods) if (!durable || kept(durable, key)) periods.set(key, s);
  } else if (durable) {
    if (durable.totalXp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: null }), durable.totalXp);
    for (const [c, v] of durable.courses) if (v.xpEarned > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: c }), v.xpEarned);
  }
  for (const [periodKey, s] of periods) {
    const period = parsePeriodKey(periodKey)?.kind;
    if (!period) continue;
    if (s.global.xp > 0) out.set(boardIdOf({ period, courseId: null, periodKey }), s.global.xp);
    for (const [c, cs] of s.courses) if (cs.xp > 0) out.set(boardIdOf({ period, courseId: c, periodKey }), cs.xp);
  }
  return out;
}
