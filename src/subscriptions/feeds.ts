import { Repeater, SlidingBuffer } from 'graphql-yoga';
import { comparePositions, type RankedEntry } from '../domain/boards/rules';
import type { Logger } from '../logger';
import type { BoardMove, BoardMoves, BoardPosition, BoardStore } from '../store/redis/boards';
import { LEARNER_BUFFER } from './learnerFeed';
import type { RedisPubSub } from './pubsub';

/** A learner's rank moved on a board. */
export interface RankMove {
  boardId: string;
  learnerId: string;
  previousRank: number | null;
  rank: number;
  score: number;
}

/** The top of a board, as `leaderboardChanged` sends it. */
export interface TopSnapshot {
  boardId: string;
  totalCount: number;
  entries: RankedEntry[];
}

interface PendingMove extends BoardMove {
  epoch: string;
}

interface RankWatcher {
  learnerId: string;
  /** Where the learner stands as far as this watcher knows; null until first read. */
  position: BoardPosition | null;
  /** The rank last told to the client (or found at subscription). */
  told: number | null;
  /** Moves that arrive while the position is being read. */
  pending: PendingMove[];
  syncing: boolean;
  again: boolean;
  push: (m: RankMove) => void;
}

interface TopWatcher {
  first: number;
  /** What the client was sent last (the key of a BuiltTop: shared, not copied). */
  last: string;
  push: (s: TopSnapshot) => void;
}

/** The top of a board cut to one `first`: built once per read, whatever the number of watchers. */
interface BuiltTop {
  snapshot: TopSnapshot;
  key: string;
}

/** One read of a board's top, for the largest `first` asked; each `first` is built from it once. */
interface TopRead {
  first: number;
  page: Promise<{ entries: RankedEntry[]; total: number }>;
  built: Map<number, BuiltTop>;
}

interface BoardWatch {
  ranks: Set<RankWatcher>;
  tops: Set<TopWatcher>;
  /** The epoch and the last sequence number seen on the channel (null before any message). */
  epoch: string | null;
  lastSeq: number | null;
  lastSent: number;
  timer: NodeJS.Timeout | null;
  flushing: boolean;
  dirty: boolean;
  /** The read new subscribers share while it is in flight. */
  reading: TopRead | null;
}

export interface BoardFeedOptions {
  /** Least time between two `leaderboardChanged` messages of one board (250 ms: 4 a second). */
  minIntervalMs: number;
}

/**
 * Rank changes and board tops on this instance, driven by the `board` channel.
 *
 * Rank changes: setBoardScores publishes each call's moves with the board's sequence numbers
 * and epoch, inside the same atomic step, so moves arrive in board order. Each subscriber's
 * position is read together with the sequence number; from then on a move that takes someone
 * from behind the subscriber to ahead of them is an overtake (rank + 1), and the reverse a
 * climb (rank - 1), decided locally. The subscriber's own move, a new epoch (the board was
 * reinstalled, e.g. after Redis lost it) or a gap in the sequence (a lost message) makes it
 * read its position again, so the feed never drifts and never goes backwards.
 *
 * Board tops: at most one read of the top per board per interval (for the largest `first`
 * subscribed), whatever the number of moves or subscribers, and subscribers arriving together
 * share one read too. Each distinct `first` is cut and compared once per read, and its
 * subscribers are all pushed the same snapshot object, so the GraphQL result built from it can be
 * shared as well (subscriptions/shared.ts). A subscriber gets a message only when what it would
 * see changed.
 */
export class BoardFeeds {
  private readonly boards = new Map<string, BoardWatch>();

  constructor(
    pubsub: RedisPubSub,
    private readonly store: BoardStore,
    private readonly log: Logger,
    private readonly options: BoardFeedOptions = { minIntervalMs: 250 },
  ) {
    pubsub.on('board', (message) => this.onMoves(message));
  }

  /** Rank changes of one learner on one board. */
  rankChanges(boardId: string, learnerId: string): AsyncIterableIterator<RankMove> {
    return new Repeater<RankMove>(async (push, stop) => {
      const watch = this.watch(boardId);
      const watcher: RankWatcher = { learnerId, position: null, told: null, pending: [], syncing: false, again: false, push: (m) => void push(m) };
      watch.ranks.add(watcher);
      try {
        await this.resync(boardId, watcher, true);
      } catch (err) {
        stop(err as Error);
      }
      await stop;
      watch.ranks.delete(watcher);
      this.release(boardId, watch);
    }, new SlidingBuffer(LEARNER_BUFFER));
  }

  /** The top `first` entries of a board: now, then whenever they change (throttled). */
  tops(boardId: string, first: number): AsyncIterableIterator<TopSnapshot> {
    return new Repeater<TopSnapshot>(async (push, stop) => {
      const watch = this.watch(boardId);
      const watcher: TopWatcher = { first, last: '', push: (s) => void push(s) };
      watch.tops.add(watcher);
      try {
        const read = this.readTop(boardId, watch, first);
        const { entries, total } = await read.page;
        this.offer(watcher, this.built(read.built, boardId, entries, total, first));
      } catch (err) {
        stop(err as Error);
      }
      await stop;
      watch.tops.delete(watcher);
      this.release(boardId, watch);
    }, new SlidingBuffer(4));
  }

  /** Live `leaderboardChanged` subscribers of a board on this instance (tests, metrics). */
  topWatchers(boardId: string): number {
    return this.boards.get(boardId)?.tops.size ?? 0;
  }

  /** Whether a learner's rank on a board is being tracked here, position known (tests, metrics). */
  tracking(boardId: string, learnerId: string): boolean {
    return [...(this.boards.get(boardId)?.ranks ?? [])].some((w) => w.learnerId === learnerId && w.position !== null && !w.syncing);
  }

  private watch(boardId: string): BoardWatch {
    let w = this.boards.get(boardId);
    if (!w) {
      w = { ranks: new Set(), tops: new Set(), epoch: null, lastSeq: null, lastSent: 0, timer: null, flushing: false, dirty: false, reading: null };
      this.boards.set(boardId, w);
    }
    return w;
  }

  private release(boardId: string, w: BoardWatch): void {
    if (w.ranks.size === 0 && w.tops.size === 0) {
      if (w.timer) clearTimeout(w.timer);
      this.boards.delete(boardId);
    }
  }

  private onMoves(message: BoardMoves): void {
    const w = this.boards.get(message.boardId);
    if (!w || message.moves.length === 0) return;
    const first = message.moves[0]!.seq;
    const last = message.moves[message.moves.length - 1]!.seq;
    // A new epoch, or a sequence that jumped: some moves never reached us. Read positions again.
    const broken = w.epoch !== null && (message.epoch !== w.epoch || (w.lastSeq !== null && first > w.lastSeq + 1));
    w.epoch = message.epoch;
    w.lastSeq = last;
    // Shared by every watcher (moves are only read).
    const moves: PendingMove[] = broken || w.ranks.size === 0 ? [] : message.moves.map((move) => ({ ...move, epoch: message.epoch }));
    for (const watcher of w.ranks) {
      if (broken) {
        void this.resync(message.boardId, watcher, false).catch((err) => this.log.warn({ err, boardId: message.boardId }, 'rank feed: could not read a position'));
        continue;
      }
      for (const move of moves) this.offerMove(message.boardId, watcher, move);
    }
    if (w.tops.size) this.schedule(message.boardId, w);
  }

  private offerMove(boardId: string, watcher: RankWatcher, move: PendingMove): void {
    if (watcher.syncing || watcher.position === null) {
      watcher.pending.push(move);
      return;
    }
    if (this.applyMove(watcher, move)) {
      void this.resync(boardId, watcher, false).catch((err) => this.log.warn({ err, boardId }, 'rank feed: could not read a position'));
    } else {
      this.tell(boardId, watcher);
    }
  }

  /**
   * Apply another learner's move to the watcher's position. Sequence numbers only grow, across
   * epochs too (installBoard-4.lua), so anything at or below the position is already in it.
   * @returns true when the position must be read again (our own move, or a new epoch)
   */
  private applyMove(watcher: RankWatcher, move: PendingMove): boolean {
    const me = watcher.position!;
    if (move.seq <= me.seq) return false;
    if (move.epoch !== me.epoch || move.learnerId === watcher.learnerId) return true;
    me.seq = move.seq;
    if (me.rank === null || me.member === null) return false;
    const mine = { score: me.score, member: me.member };
    const wasAhead = move.previousMember !== null && comparePositions({ score: move.previousScore ?? 0, member: move.previousMember }, mine) < 0;
    const isAhead = move.member !== null && comparePositions({ score: move.score, member: move.member }, mine) < 0;
    if (wasAhead !== isAhead) me.rank += isAhead ? 1 : -1;
    return false;
  }

  /** Read the watcher's position again, then apply the moves that came meanwhile. */
  private async resync(boardId: string, watcher: RankWatcher, initial: boolean): Promise<void> {
    if (watcher.syncing) {
      watcher.again = true;
      return;
    }
    watcher.syncing = true;
    try {
      do {
        watcher.again = false;
        watcher.position = await this.store.position(boardId, watcher.learnerId);
        const pending = watcher.pending;
        watcher.pending = [];
        for (const move of pending) if (this.applyMove(watcher, move)) watcher.again = true;
      } while (watcher.again);
    } finally {
      watcher.syncing = false;
    }
    if (initial) watcher.told = watcher.position?.rank ?? null;
    else this.tell(boardId, watcher);
  }

  /** Tell the client its rank, when it differs from what it was told last. */
  private tell(boardId: string, watcher: RankWatcher): void {
    const me = watcher.position;
    if (!me || me.rank === null || me.rank === watcher.told) return;
    const previousRank = watcher.told;
    watcher.told = me.rank;
    watcher.push({ boardId, learnerId: watcher.learnerId, previousRank, rank: me.rank, score: me.score });
  }

  /** Coalesce: one read of the top per interval per board, leading and trailing. */
  private schedule(boardId: string, w: BoardWatch): void {
    w.dirty = true;
    if (w.timer || w.flushing) return;
    const wait = Math.max(0, w.lastSent + this.options.minIntervalMs - Date.now());
    w.timer = setTimeout(() => {
      w.timer = null;
      void this.flush(boardId, w);
    }, wait);
  }

  private async flush(boardId: string, w: BoardWatch): Promise<void> {
    if (w.tops.size === 0) return;
    w.flushing = true;
    w.dirty = false;
    w.lastSent = Date.now();
    try {
      let first = 0;
      for (const t of w.tops) first = Math.max(first, t.first);
      const { entries, total } = await this.store.page(boardId, 0, first);
      const built = new Map<number, BuiltTop>();
      for (const t of w.tops) this.offer(t, this.built(built, boardId, entries, total, t.first));
    } catch (err) {
      this.log.warn({ err, boardId }, 'leaderboard feed: could not read the board');
    } finally {
      w.flushing = false;
      if (w.dirty) this.schedule(boardId, w);
    }
  }

  /**
   * The top read for a new subscriber: the one in flight when it asks for at least `first`
   * entries (it began after the subscriber was registered or just before; either way a change
   * after it schedules a flush), else a new one.
   */
  private readTop(boardId: string, w: BoardWatch, first: number): TopRead {
    if (w.reading && w.reading.first >= first) return w.reading;
    const read: TopRead = { first, page: this.store.page(boardId, 0, first), built: new Map() };
    w.reading = read;
    const done = () => {
      if (w.reading === read) w.reading = null;
    };
    read.page.then(done, done);
    return read;
  }

  /** The snapshot of the top `first` entries, cut and keyed once per read. */
  private built(cache: Map<number, BuiltTop>, boardId: string, entries: RankedEntry[], totalCount: number, first: number): BuiltTop {
    let b = cache.get(first);
    if (!b) {
      const cut = entries.slice(0, first);
      b = { snapshot: { boardId, totalCount, entries: cut }, key: JSON.stringify([totalCount, cut]) };
      cache.set(first, b);
    }
    return b;
  }

  private offer(t: TopWatcher, b: BuiltTop): void {
    if (b.key === t.last) return;
    t.last = b.key;
    t.push(b.snapshot);
  }
}
