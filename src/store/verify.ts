import { boardIdOf } from '../domain/boards/rules';
import type { DurableAudit, LearnerRepository } from './pg/learners';
import { scanKeys } from './redis/client';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import type { ScriptedClient } from './redis/scripts';
import type { LearnerRepair } from './repair';

/**
 * The invariant checker behind `npm run verify`: Redis (the hot truth) against Postgres (the
 * durable record), for every learner and every board Redis holds.
 *
 * For each learner, when Redis and Postgres are at the same version (nothing of theirs is on
 * its way to Postgres):
 * - total XP (Redis) = sum of the ledger = the Postgres snapshot's total;
 * - lessons completed: the count and the set (Redis `l:*` fields) = the progress rows;
 * - course XP of each enrollment = the ledger's lesson XP in that course, in Redis and in the
 *   Postgres snapshot; the enrolled courses are the same;
 * - badges held = the badge awards;
 * - quizzes: per quiz, the attempts (`qn:`), best score (`qb:`) and whether passed (`qp:`) = the
 *   attempt rows; the counters `qt`, `qpc`, `qbs`, `qbn` = their sums over the rows; quizzes
 *   passed per course (`cq:` and the enrollment snapshot) = the distinct passed quizzes;
 * - watch time: per lesson (`w:`) = the progress rows' seconds; `wt` = their sum; per course
 *   (`cw:` and the enrollment snapshot) = the sum of its lessons' rows; `vc` = the completed
 *   rows of VIDEO lessons.
 * Redis at an older epoch or version than Postgres is drift (Redis fell behind); Redis ahead is
 * an update on its way, checked again after a pause. A learner only in Postgres (not loaded)
 * has their snapshot checked against the facts.
 *
 * For each board in Redis: every ranked learner's score = their total (global board) or course
 * XP (course board), and every learner with a score is on it. A mismatch is checked again after
 * a pause (the projection may be a moment behind) before it counts.
 */

export interface Drift {
  learnerId: string;
  /** The board, for a board entry that disagrees. */
  boardId?: string;
  what: string;
}

export interface VerifyReport {
  learners: number;
  boards: number;
  boardEntries: number;
  /** What disagrees after every recheck. */
  drift: Drift[];
  /** Learners whose Redis state was still on its way to Postgres at the last check. */
  unsettled: string[];
  /** Learners rebuilt from Postgres (with `repair`), and what verify found after. */
  repaired: string[];
  driftAfterRepair: Drift[];
}

export interface VerifyDeps {
  redis: ScriptedClient;
  keys: Keys;
  hot: LearnerHotStore;
  repo: LearnerRepository;
  /** When given, drifted learners are rebuilt from Postgres and checked again. */
  repair?: LearnerRepair;
}

export interface VerifyOptions {
  pageSize?: number;
  /** Rounds of rechecks for what disagrees or is on its way. */
  rechecks?: number;
  recheckDelayMs?: number;
  onProgress?: (checked: number) => void;
}

type Verdict = { state: 'ok' } | { state: 'ahead' } | { state: 'drift'; problems: string[] };

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
  /** The counters qt, qpc, qbs, qbn. */
  quizCounters: { qt: number; qpc: number; qbs: number; qbn: number };
  /** Seconds watched per lesson (`w:`), per enrolled course (`cw:`), in all (`wt`); videos completed (`vc`). */
  watched: Map<string, number>;
  courseWatch: Map<string, number>;
  wt: number;
  vc: number;
}

function hotView(h: Record<string, string>): HotView {
  const lessons: string[] = [];
  const badges: string[] = [];
  const courses = new Map<string, number>();
  const coursePasses = new Map<string, number>();
  const quizzes = new Map<string, { attempts: number; best: number; passed: boolean }>();
  const watched = new Map<string, number>();
  const courseWatch = new Map<string, number>();
  for (const field of Object.keys(h)) {
    if (field.startsWith('l:')) lessons.push(field.slice(2));
    else if (field.startsWith('b:')) badges.push(field.slice(2));
    else if (field.startsWith('e:')) {
      const course = field.slice(2);
      courses.set(course, Number(h[`ex:${course}`] ?? 0));
      coursePasses.set(course, Number(h[`cq:${course}`] ?? 0));
      courseWatch.set(course, Number(h[`cw:${course}`] ?? 0));
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
    quizCounters: { qt: Number(h.qt ?? 0), qpc: Number(h.qpc ?? 0), qbs: Number(h.qbs ?? 0), qbn: Number(h.qbn ?? 0) },
    watched,
    courseWatch,
    wt: Number(h.wt ?? 0),
    vc: Number(h.vc ?? 0),
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
  }
  for (const [quiz, q] of p.quizzes) {
    if (q.rows !== q.attempts) problems.push(`Postgres quiz ${quiz}: ${q.rows} attempt rows for ${q.attempts} attempts`);
  }
  return problems;
}

/** Redis's quiz fields against the attempt rows. Pure. */
function quizProblems(r: HotView, p: DurableAudit): string[] {
  const problems: string[] = [];
  const want = { qt: 0, qpc: 0, qbs: 0, qbn: p.quizzes.size };
  for (const q of p.quizzes.values()) {
    want.qt += q.attempts;
    want.qbs += q.best;
    if (q.passed) want.qpc += 1;
  }
  for (const name of ['qt', 'qpc', 'qbs', 'qbn'] as const) {
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
  return problems.length ? { state: 'drift', problems } : { state: 'ok' };
}

/** The learner id in a learner hash key (`<prefix>{p17}:learner:<id>`). */
function learnerOfKey(keys: Keys, key: string): string | null {
  if (!key.startsWith(`${keys.prefix}{p`)) return null;
  const at = key.indexOf('}:learner:', keys.prefix.length);
  return at < 0 ? null : key.slice(at + '}:learner:'.length);
}

/** The board id in a board meta key (`<prefix>{b:<id>}:meta`); null for staging keys. */
function boardOfKey(keys: Keys, key: string): string | null {
  const head = `${keys.prefix}{b:`;
  if (!key.startsWith(head) || !key.endsWith('}:meta')) return null;
  const id = key.slice(head.length, -'}:meta'.length);
  return id.includes('}') ? null : id;
}

/** Scores a learner should have on each board (only those above 0), from Redis or else Postgres. */
function expectedScores(hot: Record<string, string> | null, durable: DurableAudit | null): Map<string, number> {
  const out = new Map<string, number>();
  if (hot) {
    const r = hotView(hot);
    if (r.xp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: null }), r.xp);
    for (const [c, xp] of r.courses) if (xp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: c }), xp);
  } else if (durable) {
    if (durable.totalXp > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: null }), durable.totalXp);
    for (const [c, v] of durable.courses) if (v.xpEarned > 0) out.set(boardIdOf({ period: 'ALL_TIME', courseId: c }), v.xpEarned);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Check every learner and board (see the module comment); with `deps.repair`, rebuild each
 * drifted learner from Postgres and check them again.
 */
export async function verifyStores(deps: VerifyDeps, options: VerifyOptions = {}): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 200;
  const rechecks = options.rechecks ?? 3;
  const delay = options.recheckDelayMs ?? 1000;
  const { redis, keys, hot, repo } = deps;

  // Every learner either store knows.
  const ids = new Set<string>();
  for await (const page of repo.learnerIds(1000)) for (const id of page) ids.add(id);
  await scanKeys(redis, keys.learnerPattern(), (found) => {
    for (const key of found) {
      const id = learnerOfKey(keys, key);
      if (id !== null) ids.add(id);
    }
  });

  /** boardId -> learnerId -> expected score (> 0). */
  const expected = new Map<string, Map<string, number>>();
  const setExpected = (learnerId: string, scores: Map<string, number>) => {
    for (const board of expected.values()) board.delete(learnerId);
    for (const [boardId, score] of scores) {
      let board = expected.get(boardId);
      if (!board) expected.set(boardId, (board = new Map()));
      board.set(learnerId, score);
    }
  };

  const checkLearners = async (list: readonly string[]): Promise<Map<string, Verdict>> => {
    const out = new Map<string, Verdict>();
    for (let i = 0; i < list.length; i += pageSize) {
      const page = list.slice(i, i + pageSize);
      const [hots, durable] = await Promise.all([Promise.all(page.map((id) => hot.raw(id))), repo.audit(page)]);
      page.forEach((id, j) => {
        out.set(id, compareLearner(hots[j]!, durable.get(id) ?? null));
        setExpected(id, expectedScores(hots[j]!, durable.get(id) ?? null));
      });
      options.onProgress?.(Math.min(i + pageSize, list.length));
    }
    return out;
  };

  // Boards Redis holds (one not in Redis is loaded from Postgres snapshots, checked above).
  const boardIds = new Set<string>();
  await scanKeys(redis, `${keys.prefix}{b:*}:meta`, (found) => {
    for (const key of found) {
      const id = boardOfKey(keys, key);
      if (id !== null) boardIds.add(id);
    }
  });
  let boardEntries = 0;

  /** Board entries that disagree with the expected scores, for these learners (all when null). */
  const checkBoards = async (only: ReadonlySet<string> | null): Promise<Drift[]> => {
    const out: Drift[] = [];
    for (const boardId of boardIds) {
      const meta = keys.board(boardId).meta;
      const want = expected.get(boardId) ?? new Map<string, number>();
      const seen = new Set<string>();
      if (only === null) {
        let cursor = '0';
        do {
          const [next, flat] = (await redis.hscan(meta, cursor, 'MATCH', 's:*', 'COUNT', 1000)) as [string, string[]];
          cursor = next;
          for (let i = 0; i + 1 < flat.length; i += 2) {
            const learnerId = flat[i]!.slice(2);
            const score = Number(flat[i + 1]);
            seen.add(learnerId);
            boardEntries += 1;
            const should = want.get(learnerId) ?? 0;
            if (should !== score) out.push({ learnerId, boardId, what: `board score ${score} vs ${should}` });
          }
        } while (cursor !== '0');
        for (const [learnerId, score] of want) if (!seen.has(learnerId)) out.push({ learnerId, boardId, what: `not on the board (score ${score})` });
      } else {
        const list = [...only];
        const scores = list.length ? await redis.hmget(meta, ...list.map((l) => `s:${l}`)) : [];
        list.forEach((learnerId, i) => {
          const score = Number(scores[i] ?? 0);
          const should = want.get(learnerId) ?? 0;
          if (should !== score) out.push({ learnerId, boardId, what: score === 0 ? `not on the board (score ${should})` : `board score ${score} vs ${should}` });
        });
      }
    }
    return out;
  };

  let verdicts = await checkLearners([...ids]);
  let boardDrift = await checkBoards(null);
  for (let round = 0; round < rechecks; round += 1) {
    const suspects = new Set([...verdicts].filter(([, v]) => v.state !== 'ok').map(([id]) => id));
    for (const d of boardDrift) suspects.add(d.learnerId);
    if (suspects.size === 0) break;
    await sleep(delay);
    const again = await checkLearners([...suspects]);
    for (const [id, v] of again) verdicts.set(id, v);
    boardDrift = await checkBoards(suspects);
  }

  const collect = (v: Map<string, Verdict>, boards: Drift[]) => {
    const drift: Drift[] = [];
    for (const [learnerId, verdict] of v) if (verdict.state === 'drift') for (const what of verdict.problems) drift.push({ learnerId, what });
    return [...drift, ...boards];
  };
  const report: VerifyReport = {
    learners: ids.size,
    boards: boardIds.size,
    boardEntries,
    drift: collect(verdicts, boardDrift),
    unsettled: [...verdicts].filter(([, v]) => v.state === 'ahead').map(([id]) => id),
    repaired: [],
    driftAfterRepair: [],
  };

  if (deps.repair && report.drift.length > 0) {
    const learners = [...new Set(report.drift.map((d) => d.learnerId))];
    for (const id of learners) {
      await deps.repair.repair(id);
      report.repaired.push(id);
    }
    verdicts = await checkLearners(learners);
    report.driftAfterRepair = collect(verdicts, await checkBoards(new Set(learners)));
  }
  return report;
}

/**
 * After the last check, with the outbox's Postgres backlog known: a learner still ahead of
 * Postgres when nothing is left to write can never settle (Postgres lost those changes), so it
 * is drift; with `repairing` it is also drift left, since a rebuild from Postgres would drop
 * acknowledged changes and is not attempted.
 */
export function concludeUnsettled(report: VerifyReport, outboxEmpty: boolean, repairing: boolean): void {
  if (!report.unsettled.length || !outboxEmpty) return;
  for (const learnerId of report.unsettled) {
    const d: Drift = { learnerId, what: 'Redis ahead of Postgres with nothing left in the outbox: Postgres lost changes' };
    report.drift.push(d);
    if (repairing) report.driftAfterRepair.push(d);
  }
  report.unsettled = [];
}

/** verify's exit code for a finished check: 1 while drift is left (after repairs, with `repairing`). */
export function exitCodeOf(report: VerifyReport, repairing: boolean): 0 | 1 {
  return (repairing ? report.driftAfterRepair.length : report.drift.length) === 0 ? 0 : 1;
}
