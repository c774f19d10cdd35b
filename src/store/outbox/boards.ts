import { boardIdOf } from '../../domain/boards/rules';
import type { BoardStore, ScoreUpdate } from '../redis/boards';
import { newer, type OutboxEntry } from './entry';

/**
 * The board scores a batch of entries implies: for each board, each learner's newest score
 * (by epoch, then version). An entry that paid XP moves its learner on the global board (total XP) and,
 * when it paid XP in a course, on that course's board (course XP). Pure.
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
