import { BadInput, NotFound } from '../errors';
import type { Catalog } from '../catalog/types';
import type { BoardScores } from '../ports';
import { boardIdOf, boardInfo, type BoardInfo, type BoardPeriod, type BoardRef, type RankedEntry } from './rules';

export const MAX_BOARD_PAGE = 100;
export const MAX_AROUND_RADIUS = 25;

/**
 * Leaderboards: the global board and each course's board. Scores are projections of the
 * outbox (see store/outbox/boards.ts); this only reads them.
 */
export class BoardService {
  /** Resolved boards per catalog snapshot (a board argument is resolved several times a request). */
  private readonly resolved = new WeakMap<Catalog, Map<string, { ref: BoardRef; id: string; info: BoardInfo }>>();

  constructor(private readonly scores: BoardScores) {}

  /**
   * Resolve a board argument.
   * @throws NotFound for an unknown course, BadInput for a period not served yet
   */
  resolve(input: { period?: BoardPeriod | null; courseId?: string | null } | null | undefined, catalog: Catalog): { ref: BoardRef; id: string; info: BoardInfo } {
    const period = input?.period ?? 'ALL_TIME';
    const courseId = input?.courseId ?? null;
    let known = this.resolved.get(catalog);
    if (!known) this.resolved.set(catalog, (known = new Map()));
    const key = `${period}\u0000${courseId ?? ''}`;
    const hit = known.get(key);
    if (hit) return hit;
    if (period !== 'ALL_TIME') {
      throw new BadInput(`${period} boards are not available yet; use ALL_TIME.`, 'board.period');
    }
    if (courseId !== null && !catalog.course(courseId)) throw new NotFound('course', courseId);
    const ref: BoardRef = { period, courseId };
    const board = { ref, id: boardIdOf(ref), info: boardInfo(ref) };
    // Only boards that exist are remembered, so unknown course ids cannot grow the map.
    known.set(key, board);
    return board;
  }

  /** `first` entries from rank `offset + 1` and the number of ranked learners. */
  page(boardId: string, first: number, offset: number): Promise<{ entries: RankedEntry[]; total: number }> {
    return this.scores.page(boardId, offset, first);
  }

  async rankOf(boardId: string, learnerId: string): Promise<RankedEntry | null> {
    const [entry] = await this.scores.ranks(boardId, [learnerId]);
    return entry ?? null;
  }

  /** The learner's entry and `radius` entries on each side; empty when not ranked. */
  around(boardId: string, learnerId: string, radius: number): Promise<RankedEntry[]> {
    return this.scores.around(boardId, learnerId, radius);
  }
}
