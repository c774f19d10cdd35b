import { BadInput, NotFound, PeriodNotKept, quoted } from '../errors';
import type { Catalog } from '../catalog/types';
import type { BoardScores, Clock } from '../ports';
import { oldestRetainedPeriod, parsePeriodKey, periodKeyOf, type PeriodKind } from './periods';
import { boardIdOf, boardInfo, type BoardInfo, type BoardPeriod, type BoardRef, type RankedEntry } from './rules';

export const MAX_BOARD_PAGE = 100;
export const MAX_AROUND_RADIUS = 25;

/** A board argument as the API takes it. */
export interface BoardArgument {
  period?: BoardPeriod | null;
  courseId?: string | null;
  /** A period board's period (e.g. 2026-W47); the current period when absent. */
  periodKey?: string | null;
}

/** A resolved board: which one, its id, its public description, and whether it follows the current period. */
export interface ResolvedBoard {
  ref: BoardRef;
  id: string;
  info: BoardInfo;
  /** A period board asked for without a period key: the current period, which rolls over at `info.endsAt`. */
  current: boolean;
}

const PERIOD_EXAMPLE: Record<PeriodKind, string> = { DAILY: '2026-11-22', WEEKLY: '2026-W47', MONTHLY: '2026-11' };

/**
 * Leaderboards: the global board and each course's board, ALL_TIME and per period (DAILY,
 * WEEKLY, MONTHLY in UTC). Scores are projections of the outbox (see store/outbox/boards.ts);
 * this only reads them.
 */
export class BoardService {
  /** Resolved ALL_TIME boards per catalog snapshot (a board argument is resolved several times a request). */
  private readonly resolved = new WeakMap<Catalog, Map<string, ResolvedBoard>>();

  constructor(
    private readonly scores: BoardScores,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolve a board argument: with no period key, a period board is the current period.
   * @throws NotFound for an unknown course; BadInput for a malformed period key, one of another
   *   kind, one on an ALL_TIME board, or a period that has not started; PeriodNotKept for a
   *   period older than the RETAINED_PERIODS finished ones kept
   */
  resolve(input: BoardArgument | null | undefined, catalog: Catalog): ResolvedBoard {
    const period = input?.period ?? 'ALL_TIME';
    const courseId = input?.courseId ?? null;
    const asked = input?.periodKey ?? null;
    if (period === 'ALL_TIME') {
      if (asked !== null) throw new BadInput('ALL_TIME boards have no periods: leave periodKey out.', 'board.periodKey');
      let known = this.resolved.get(catalog);
      if (!known) this.resolved.set(catalog, (known = new Map()));
      const hit = known.get(courseId ?? '');
      if (hit) return hit;
      if (courseId !== null && !catalog.course(courseId)) throw new NotFound('course', courseId);
      const ref: BoardRef = { period, courseId };
      const board = { ref, id: boardIdOf(ref), info: boardInfo(ref), current: false };
      // Only boards that exist are remembered, so unknown course ids cannot grow the map.
      known.set(courseId ?? '', board);
      return board;
    }
    const now = this.clock.now();
    const current = periodKeyOf(period, now);
    let periodKey = current;
    if (asked !== null) {
      const p = parsePeriodKey(asked);
      if (!p || p.kind !== period) {
        throw new BadInput(`"${quoted(asked)}" is not a ${period} period key; they look like ${PERIOD_EXAMPLE[period]}.`, 'board.periodKey');
      }
      if (asked > current) throw new BadInput(`Period ${asked} has not started yet; the current ${period} period is ${current}.`, 'board.periodKey');
      const oldest = oldestRetainedPeriod(period, now);
      if (asked < oldest) throw new PeriodNotKept(asked, oldest);
      periodKey = asked;
    }
    if (courseId !== null && !catalog.course(courseId)) throw new NotFound('course', courseId);
    // Period boards are not remembered: the current one changes with the clock.
    const ref: BoardRef = { period, courseId, periodKey };
    return { ref, id: boardIdOf(ref), info: boardInfo(ref), current: asked === null };
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

