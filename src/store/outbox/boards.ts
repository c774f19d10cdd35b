import { periodOf } from '../../domain/boards/periods';
import { boardIdOf } from '../../domain/boards/rules';
import type { BoardStore, ScoreUpdate } from '../redis/boards';
import { newer, type OutboxEntry } from './entry';

/**
 * The board scores a batch of entries implies: for each board, each learner's newest score
 * (by epoch, then version). An entry that paid XP moves its learner on the global board (total XP) and,
 * when it paid XP in a course, on that course's board (course XP); on the period boards (DAILY,
 * WEEKLY, MONTHLY) its XP counted in, it sets the learner's absolute period scores it carries
 * (`p`), globally and in the course. Pure.
 */
export function boardUpdatesOf(entries: readonly OutboxEntry[]): Map<string, ScoreUpdate[]> {
  const byBoard = new Map<string, Map<string, ScoreUpdate>>();
  const put = (boardId: string, u: ScoreUpdate) => {
    let board = byBoard.get(boardId);
    if (!board) byBoard.set(boardId, (board = new Map()));
    const prev = board.get(u.learnerId);
    if (!prev || newer(u, prev)) board.set(u.learnerId, u);
  };
  for (const { data: d } of entries) {
    const paid = ('x' in d ? d.x : 0) + (d.aw ?? []).reduce((sum, [, xp]) => sum + xp, 0);
    if (paid <= 0) continue;
    put(boardIdOf({ period: 'ALL_TIME', courseId: null }), { learnerId: d.l, score: d.s.xp, reachedAt: d.s.xat, epoch: d.ep, version: d.v });
    if ('x' in d && d.x > 0) {
      put(boardIdOf({ period: 'ALL_TIME', courseId: d.c }), { learnerId: d.l, score: d.ce.x, reachedAt: d.ce.xat, epoch: d.ep, version: d.v });
    }
    d.p?.k.forEach((periodKey, i) => {
      const period = periodOf(periodKey).kind;
      const [score, reachedAt] = d.p!.g[i]!;
      put(boardIdOf({ period, courseId: null, periodKey }), { learnerId: d.l, score, reachedAt, epoch: d.ep, version: d.v });
      const course = d.p!.c?.[i];
      if (course && 'c' in d) put(boardIdOf({ period, courseId: d.c, periodKey }), { learnerId: d.l, score: course[0], reachedAt: course[1], epoch: d.ep, version: d.v });
    });
  }
  return new Map([...byBoard].map(([id, m]) => [id, [...m.values()]]));
}

/**
 * The board projection of the outbox: applies a batch's scores with one script call per
 * board. Idempotent (version guard), so replays after a crash change nothing.
 */
export class BoardProjection {
  constructor(private readonly boards: BoardStore) {}

  async handle(entries: readonly OutboxEntry[]): Promise<void> {
    const updates = boardUpdatesOf(entries);
    await Promise.all([...updates].map(([boardId, list]) => this.boards.setScores(boardId, list)));
  }
}
