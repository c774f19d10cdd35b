import { Repeater, SlidingBuffer } from 'graphql-yoga';
import { comparePositions, type RankedEntry } from '../domain/boards/rules';
import type { LearnerEvent } from '../domain/events';
import type { Logger } from '../logger';
import type { BoardMove, BoardPosition, BoardStore } from '../store/redis/boards';
import type { RedisPubSub } from './pubsub';

/** A slow client keeps only its newest messages instead of growing without bound. */
const LEARNER_BUFFER = 256;

/**
 * A learner's own events on this instance. Messages from the one `learner` channel are
 * dispatched to the learner's local subscribers through a map, so each costs O(its subscribers).
 */
export class LearnerFeed {
  private readonly byLearner = new Map<string, Set<(e: LearnerEvent) => void>>();

  constructor(pubsub: RedisPubSub) {
    pubsub.on('learner', (event) => {
      for (const push of this.byLearner.get(event.learnerId) ?? []) push(event);
    });
  }

  /** Events of one learner, filtered by kind, until the client goes away. */
  events<K extends LearnerEvent['kind']>(learnerId: string, kinds: readonly K[]): AsyncIterableIterator<Extract<LearnerEvent, { kind: K }>> {
    return new Repeater<Extract<LearnerEvent, { kind: K }>>(async (push, stop) => {
      const handler = (e: LearnerEvent) => {
        if ((kinds as readonly string[]).includes(e.kind)) void push(e as Extract<LearnerEvent, { kind: K }>);
      };
      let set = this.byLearner.get(learnerId);
      if (!set) this.byLearner.set(learnerId, (set = new Set()));
      set.add(handler);
      await stop;
      set.delete(handler);
      if (set.size === 0) this.byLearner.delete(learnerId);
    }, new SlidingBuffer(LEARNER_BUFFER));
  }

  /** Whether a learner has a live subscription on this instance (tests, metrics). */
  listening(learnerId: string): boolean {
    return this.byLearner.has(learnerId);
  }
}

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

interface RankWatcher {
  learnerId: string;
  /** null until the initial position is read; moves seen meanwhile wait in `pending`. */
  position: BoardPosition | null;
  pending: BoardMove[];
  push: (m: RankMove) => void;
}

interface TopWatcher {
  first: number;
  last: string;
  push: (s: TopSnapshot) => void;
}

interface BoardWatch {
  ranks: Set<RankWatcher>;
  tops: Set<TopWatcher>;
  lastSent: number;
  timer: NodeJS.Timeout | null;
  flushing: boolean;
  dirty: boolean;
}

export interface BoardFeedOptions {
  /** Least time between two `leaderboardChanged` messages of one board (250 ms: 4 a second). */
  minIntervalMs: number;
}

/**
 * Rank changes and board tops on this instance, driven by the `board` channel.
 *
 * Rank changes: the setBoardScore script publishes every move with the board's sequence
 * number, inside the same atomic step as the move, so moves arrive in board order. Each
 * subscriber's position is read once together with that sequence number; from then on a move
 * that takes someone from behind the subscriber to ahead of them is an overtake (rank + 1),
 * and the reverse a climb (rank - 1), decided locally without asking Redis.
 *
 * Board tops: at most one read of the top per board per interval, whatever the number of
 * moves or subscribers; a subscriber gets a message only when what it would see changed.
 */
export class BoardFeeds {
  private readonly boards = new Map<string, BoardWatch>();

  constructor(
    pubsub: RedisPubSub,
    private readonly store: BoardStore,
    private readonly log: Logger,
    private readonly options: BoardFeedOptions = { minIntervalMs: 250 },
  ) {
    pubsub.on('board', (move) => this.onMove(move));
  }

  /** Rank changes of one learner on one board. */
  rankChanges(boardId: string, learnerId: string): AsyncIterableIterator<RankMove> {
    return new Repeater<RankMove>(async (push, stop) => {
      const watch = this.watch(boardId);
      const watcher: RankWatcher = { learnerId, position: null, pending: [], push: (m) => void push(m) };
      watch.ranks.add(watcher);
      try {
        const position = await this.store.position(boardId, learnerId);
        watcher.position = position;
        for (const move of watcher.pending) if (move.seq > position.seq) this.applyMove(boardId, watcher, move);
        watcher.pending = [];
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
        const [entries, totalCount] = await Promise.all([this.store.range(boardId, 0, first), this.store.count(boardId)]);
        this.offer(watcher, { boardId, entries, totalCount });
      } catch (err) {
        stop(err as Error);
      }
      await stop;
      watch.tops.delete(watcher);
      this.release(boardId, watch);
    }, new SlidingBuffer(4));
  }

  /** Whether a learner's rank on a board is being tracked here, position known (tests, metrics). */
  tracking(boardId: string, learnerId: string): boolean {
    return [...(this.boards.get(boardId)?.ranks ?? [])].some((w) => w.learnerId === learnerId && w.position !== null);
  }

  private watch(boardId: string): BoardWatch {
    let w = this.boards.get(boardId);
    if (!w) {
      w = { ranks: new Set(), tops: new Set(), lastSent: 0, timer: null, flushing: false, dirty: false };
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

  private onMove(move: BoardMove): void {
    const w = this.boards.get(move.boardId);
    if (!w) return;
    for (const watcher of w.ranks) {
      if (watcher.position === null) watcher.pending.push(move);
      else if (move.seq > watcher.position.seq) this.applyMove(move.boardId, watcher, move);
    }
    if (w.tops.size) this.schedule(move.boardId, w);
  }

  private applyMove(boardId: string, watcher: RankWatcher, move: BoardMove): void {
    const me = watcher.position!;
    if (move.learnerId === watcher.learnerId) {
      const previousRank = me.rank;
      watcher.position = { seq: move.seq, rank: move.rank, score: move.score, member: move.member };
      if (move.rank !== null && move.rank !== previousRank) {
        watcher.push({ boardId, learnerId: watcher.learnerId, previousRank, rank: move.rank, score: move.score });
      }
      return;
    }
    me.seq = move.seq;
    if (me.rank === null || me.member === null) return;
    const mine = { score: me.score, member: me.member };
    const wasAhead = move.previousMember !== null && comparePositions({ score: move.previousScore ?? 0, member: move.previousMember }, mine) < 0;
    const isAhead = move.member !== null && comparePositions({ score: move.score, member: move.member }, mine) < 0;
    if (wasAhead === isAhead) return;
    const previousRank = me.rank;
    me.rank += isAhead ? 1 : -1;
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
      const first = Math.max(...[...w.tops].map((t) => t.first));
      const [entries, totalCount] = await Promise.all([this.store.range(boardId, 0, first), this.store.count(boardId)]);
      for (const t of w.tops) this.offer(t, { boardId, totalCount, entries: entries.slice(0, t.first) });
    } catch (err) {
      this.log.warn({ err, boardId }, 'leaderboard feed: could not read the board');
    } finally {
      w.flushing = false;
      if (w.dirty) this.schedule(boardId, w);
    }
  }

  private offer(t: TopWatcher, snapshot: TopSnapshot): void {
    const entries = snapshot.entries.slice(0, t.first);
    const key = JSON.stringify([snapshot.totalCount, entries]);
    if (key === t.last) return;
    t.last = key;
    t.push({ ...snapshot, entries });
  }
}
