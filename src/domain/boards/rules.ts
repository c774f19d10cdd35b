import { periodOf } from './periods';

/** Which board: the global one or a course's, for a period. */
export type BoardPeriod = 'ALL_TIME' | 'DAILY' | 'WEEKLY' | 'MONTHLY';

export interface BoardRef {
  period: BoardPeriod;
  /** A course's own board; null for the global board. */
  courseId: string | null;
  /** Which period (see periods.ts), of the kind `period` names; absent or null for ALL_TIME. */
  periodKey?: string | null;
}

/** A board as the API shows it. */
export interface BoardInfo extends BoardRef {
  /** e.g. 2026-W47; null for ALL_TIME. */
  periodKey: string | null;
  /** When the period ends (ms); null for ALL_TIME. */
  endsAt: number | null;
}

/**
 * The id a board's keys and messages carry: `g:all` or `c:<courseId>:all` for ALL_TIME,
 * `p:<periodKey>:g` or `p:<periodKey>:c:<courseId>` for a period (its key says its kind and
 * holds no colon, so no two boards share an id). Pure.
 * @throws Error for a period board without its key
 */
export function boardIdOf(ref: BoardRef): string {
  if (ref.period === 'ALL_TIME') return ref.courseId === null ? 'g:all' : `c:${ref.courseId}:all`;
  if (!ref.periodKey) throw new Error(`A ${ref.period} board needs its period key`);
  return ref.courseId === null ? `p:${ref.periodKey}:g` : `p:${ref.periodKey}:c:${ref.courseId}`;
}

/** The board a board id names. Pure. @throws Error for an id boardIdOf does not make */
export function boardRefOf(boardId: string): BoardRef {
  if (boardId === 'g:all') return { period: 'ALL_TIME', courseId: null };
  if (boardId.startsWith('p:')) {
    const at = boardId.indexOf(':', 2);
    const periodKey = boardId.slice(2, at);
    const scope = boardId.slice(at + 1);
    if (at > 0 && (scope === 'g' || scope.startsWith('c:'))) {
      const period = periodOf(periodKey).kind;
      return { period, courseId: scope === 'g' ? null : scope.slice(2), periodKey };
    }
  }
  const m = /^c:(.*):all$/.exec(boardId);
  if (!m) throw new Error(`Unknown board id ${boardId}`);
  return { period: 'ALL_TIME', courseId: m[1]! };
}

/** The board's public description: its period and when that period ends. Pure. */
export function boardInfo(ref: BoardRef): BoardInfo {
  if (ref.period === 'ALL_TIME' || !ref.periodKey) return { period: ref.period, courseId: ref.courseId, periodKey: null, endsAt: null };
  return { period: ref.period, courseId: ref.courseId, periodKey: ref.periodKey, endsAt: periodOf(ref.periodKey).end };
}

/** One ranked learner. Rank 1 is the best. */
export interface RankedEntry {
  rank: number;
  learnerId: string;
  score: number;
}

/**
 * The sort member of a learner on a board: equal scores order by when they were reached,
 * earliest first, then by learner id. Pure.
 */
export function boardMember(learnerId: string, reachedAt: number): string {
  return `${String(Math.max(0, Math.trunc(reachedAt))).padStart(13, '0')}|${learnerId}`;
}

/** The learner id inside a board member. Pure. */
export function learnerOfMember(member: string): string {
  return member.slice(member.indexOf('|') + 1);
}

/**
 * Order two board positions the way the board does (Redis: score ascending, with scores
 * stored negated, then member bytes): negative when `a` ranks above `b`. Pure.
 */
export function comparePositions(a: { score: number; member: string }, b: { score: number; member: string }): number {
  if (a.score !== b.score) return b.score - a.score;
  return Buffer.compare(Buffer.from(a.member, 'utf8'), Buffer.from(b.member, 'utf8'));
}
