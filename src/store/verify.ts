import type { ActivityRepository } from './pg/activity';
import type { LearnerRepository } from './pg/learners';
import { scanKeys } from './redis/client';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import type { ScriptedClient } from './redis/scripts';
import type { LearnerRepair } from './repair';
import { compareLearner, expectedScores, type Verdict } from './verifyLearner';

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
 *   attempt rows; the counters `qt`, `qpc`, `qbs`, `qbn` = their sums over the rows, `qbm` =
 *   the highest best score; quizzes passed per course (`cq:` and the enrollment snapshot) = the
 *   distinct passed quizzes;
 * - watch time: per lesson (`w:`) = the progress rows' seconds; `wt` = their sum; per course
 *   (`cw:` and the enrollment snapshot) = the sum of its lessons' rows; `vc` = the completed
 *   rows of VIDEO lessons.
 * Redis at an older epoch or version than Postgres is drift (Redis fell behind); Redis ahead is
 * an update on its way, checked again after a pause. A learner only in Postgres (not loaded)
 * has their snapshot checked against the facts.
 *
 * With `deps.activity`, each learner's activity tables (Postgres only): one activity per logged
 * event, the days' events = the activities, the totals row = the sums over the days.
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
  /** When given, the activity tables are checked too (ActivityRepository.audit). */
  activity?: ActivityRepository;
}

export interface VerifyOptions {
  pageSize?: number;
  /** Rounds of rechecks for what disagrees or is on its way. */
  rechecks?: number;
  recheckDelayMs?: number;
  onProgress?: (checked: number) => void;
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
      const id = keys.learnerOfKey(key);
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
      const id = keys.boardOfMetaKey(key);
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

  // The activity tables: Postgres only, one transaction per write, so no recheck.
  const activityDrift: Drift[] = [];
  if (deps.activity) {
    const list = [...ids];
    for (let i = 0; i < list.length; i += pageSize) {
      for (const [learnerId, problems] of await deps.activity.audit(list.slice(i, i + pageSize))) {
        for (const what of problems) activityDrift.push({ learnerId, what });
      }
    }
  }

  const collect = (v: Map<string, Verdict>, boards: Drift[]) => {
    const drift: Drift[] = [...activityDrift];
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
