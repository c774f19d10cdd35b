import { randomUUID } from 'node:crypto';
import { periodBoardExpiresAt } from '../../domain/boards/periods';
import { boardMember, boardRefOf, learnerOfMember, type RankedEntry } from '../../domain/boards/rules';
import type { BoardEntryRow } from '../pg/boards';
import { deleteMatching } from './client';
import type { Keys } from './keys';
import type { ScriptedClient } from './scripts';

/** One learner's move in a board message: where they were and where they are now. */
export interface BoardMove {
  learnerId: string;
  /** The board's change counter after this move. */
  seq: number;
  previousScore: number | null;
  previousMember: string | null;
  score: number;
  /** null when the learner left the board (score 0). */
  member: string | null;
}

/** A board channel message: the moves of one `setBoardScores` call, in board order. */
export interface BoardMoves {
  boardId: string;
  /** The board's epoch: a new one means the board was reinstalled (positions must be read again). */
  epoch: string;
  moves: BoardMove[];
}

/** Decode a board channel message (see lua/setBoardScores-2.lua). */
export function parseBoardMoves(message: string): BoardMoves {
  const m = JSON.parse(message) as { b: string; ep: string | false; q: string; mv: [string, number | false, string | false, number, string | false][] };
  return {
    boardId: m.b,
    epoch: m.ep || '',
    moves: m.mv.map(([learnerId, ps, pm, s, member], i) => ({
      learnerId,
      seq: Number(m.q) + i,
      previousScore: ps === false ? null : ps,
      previousMember: pm === false ? null : pm,
      score: s,
      member: member === false ? null : member,
    })),
  };
}

/** A learner's place on a board with the board's change counter and epoch at the time it was read. */
export interface BoardPosition {
  seq: number;
  epoch: string;
  rank: number | null;
  score: number;
  member: string | null;
}

/** A score to put on a board. */
export interface ScoreUpdate {
  learnerId: string;
  score: number;
  /** When the score was reached (ties: earlier first). */
  reachedAt: number;
  /** The learner's epoch (when their hash was last rebuilt) and version: an update older, by (epoch, version), than the one applied is dropped. */
  epoch: number;
  version: number;
}

const NOT_LOADED = -100;

/** Entries from a flat `member, -score, ...` reply starting at `from`, ranked from `firstRank`. */
function entriesOf(flat: readonly (string | number)[], from: number, firstRank: number): RankedEntry[] {
  const out: RankedEntry[] = [];
  for (let i = from; i + 1 < flat.length; i += 2) {
    out.push({ rank: firstRank + (i - from) / 2, learnerId: learnerOfMember(String(flat[i])), score: -Number(flat[i + 1]) });
  }
  return out;
}
/** Learners per setBoardScores call (Lua's unpack is bounded). */
const SCORES_PER_CALL = 500;

export interface BoardStoreOptions {
  /** How long a finished period still takes late events (config BOARD_PERIOD_GRACE_MS): part of a period board's retention. */
  periodGraceMs: number;
}

/**
 * Leaderboards in Redis: one sorted set per board (scores negated, best first) and a meta
 * hash (each learner's member, score, epoch and version; the change counter and epoch). A board
 * Redis does not hold (never written, or lost) is loaded from Postgres on first touch, once
 * per process at a time; the install is atomic and keeps a board another instance installed first.
 * A period board's keys expire on their own once its retention is over (periodBoardExpiresAt);
 * scores for a board past it are dropped, never written.
 */
export class BoardStore {
  private readonly loading = new Map<string, Promise<void>>();
  /** Boards loaded from Postgres by this process (tests, metrics). */
  loads = 0;

  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
    /** The board's entries as Postgres records them. */
    private readonly loadEntries: (boardId: string) => Promise<BoardEntryRow[]>,
    private readonly options: BoardStoreOptions,
  ) {}

  /** When a board's keys expire (ms since 1970): a period board's end of retention; 0 never (ALL_TIME). */
  expiresAt(boardId: string): number {
    if (!boardId.startsWith('p:')) return 0;
    const ref = boardRefOf(boardId);
    return ref.periodKey ? periodBoardExpiresAt(ref.periodKey, this.options.periodGraceMs) : 0;
  }

  /**
   * Put scores on a board (each learner once), dropping those older than what was applied, and
   * announce the moves on the board channel in the same atomic step.
   * @returns how many learners moved
   */
  async setScores(boardId: string, updates: readonly ScoreUpdate[]): Promise<number> {
    const k = this.keys.board(boardId);
    const channel = this.keys.channel('board');
    const expiresAt = this.expiresAt(boardId);
    // A late replay for a board whose retention is over would only make it again, briefly.
    if (expiresAt !== 0 && expiresAt <= Date.now()) return 0;
    let moved = 0;
    for (let i = 0; i < updates.length; i += SCORES_PER_CALL) {
      const args: (string | number)[] = [];
      for (const u of updates.slice(i, i + SCORES_PER_CALL)) args.push(u.learnerId, u.score, boardMember(u.learnerId, u.reachedAt), u.epoch, u.version);
      const reply = (await this.loadedRead(boardId, () => this.redis.setBoardScores(k.z, k.meta, boardId, channel, expiresAt, ...args))) as number[];
      if (Number(reply[0]) === 1) moved += Number(reply[1]);
    }
    return moved;
  }

  /** `count` entries from rank `offset + 1`, best first, with the number of ranked learners. */
  async page(boardId: string, offset: number, count: number): Promise<{ entries: RankedEntry[]; total: number }> {
    const k = this.keys.board(boardId);
    const reply = (await this.loadedRead(boardId, () => this.redis.boardPage(k.z, k.meta, offset, Math.max(0, count)))) as (string | number)[];
    return { total: Number(reply[0]), entries: entriesOf(reply, 1, offset + 1) };
  }

  /** `count` entries from rank `offset + 1`, best first. */
  async range(boardId: string, offset: number, count: number): Promise<RankedEntry[]> {
    return count <= 0 ? [] : (await this.page(boardId, offset, count)).entries;
  }

  /** Number of ranked learners. */
  async count(boardId: string): Promise<number> {
    return (await this.page(boardId, 0, 0)).total;
  }

  /** The learner's entry and `radius` entries on each side; empty when not ranked. */
  async around(boardId: string, learnerId: string, radius: number): Promise<RankedEntry[]> {
    const k = this.keys.board(boardId);
    const reply = (await this.loadedRead(boardId, () => this.redis.boardAround(k.z, k.meta, learnerId, radius))) as (string | number)[];
    return Number(reply[0]) === 0 ? [] : entriesOf(reply, 1, Number(reply[0]));
  }

  /** A learner's place, read atomically with the board's change counter and epoch. */
  async position(boardId: string, learnerId: string): Promise<BoardPosition> {
    const k = this.keys.board(boardId);
    const reply = (await this.loadedRead(boardId, () => this.redis.boardPosition(k.z, k.meta, learnerId))) as (number | string)[];
    const [seq, epoch, rank, score, member] = reply;
    return {
      seq: Number(seq),
      epoch: String(epoch || ''),
      rank: Number(rank) < 0 ? null : Number(rank),
      score: Number(rank) < 0 ? 0 : Number(score),
      member: member === '' ? null : String(member),
    };
  }

  /** Several learners' ranks and scores (null when not ranked), in one step. */
  async ranks(boardId: string, learnerIds: readonly string[]): Promise<(RankedEntry | null)[]> {
    if (learnerIds.length === 0) return [];
    const k = this.keys.board(boardId);
    const reply = (await this.loadedRead(boardId, () => this.redis.boardRanks(k.z, k.meta, ...learnerIds))) as number[];
    return learnerIds.map((learnerId, i) => {
      const rank = Number(reply[2 * i]);
      return rank < 0 ? null : { rank, learnerId, score: Number(reply[2 * i + 1]) };
    });
  }

  /** Replace a board with the given entries (rebuilds), atomically; subscribers resync. */
  async replace(boardId: string, entries: readonly BoardEntryRow[]): Promise<void> {
    await this.install(boardId, entries, true);
  }

  /** Delete every board (full rebuilds). */
  async clearAll(): Promise<number> {
    return deleteMatching(this.redis, this.keys.boardPattern());
  }

  /** Load the board from Postgres unless Redis has it; once per process at a time. */
  async ensureLoaded(boardId: string): Promise<void> {
    let job = this.loading.get(boardId);
    if (!job) {
      job = (async () => {
        if (await this.redis.hexists(this.keys.board(boardId).meta, 'seq')) return;
        this.loads += 1;
        await this.install(boardId, await this.loadEntries(boardId), false);
      })().finally(() => this.loading.delete(boardId));
      this.loading.set(boardId, job);
    }
    return job;
  }

  /** Run a board script; when it says the board is not in Redis, load it and run it again. */
  private async loadedRead(boardId: string, read: () => Promise<unknown>): Promise<unknown> {
    const reply = await read();
    if (Number((reply as number[])[0]) !== NOT_LOADED) return reply;
    await this.ensureLoaded(boardId);
    return read();
  }

  /** Stage entries under the board's hash tag, then swap them in with one script. */
  private async install(boardId: string, entries: readonly BoardEntryRow[], replace: boolean): Promise<boolean> {
    const k = this.keys.board(boardId);
    const tag = randomUUID().slice(0, 8);
    const staged = { z: `${k.tag}:staging:${tag}:z`, meta: `${k.tag}:staging:${tag}:meta` };
    const CHUNK = 1000;
    const ranked = entries.filter((e) => e.score > 0);
    await this.redis.hset(staged.meta, 'staging', 1);
    await this.redis.pexpire(staged.meta, 600_000);
    for (let i = 0; i < ranked.length; i += CHUNK) {
      const zargs: (string | number)[] = [];
      const hargs: (string | number)[] = [];
      for (const e of ranked.slice(i, i + CHUNK)) {
        const member = boardMember(e.learnerId, e.reachedAt);
        zargs.push(-e.score, member);
        hargs.push(`m:${e.learnerId}`, member, `s:${e.learnerId}`, e.score, `v:${e.learnerId}`, `${e.epoch}:${e.version}`);
      }
      await this.redis.zadd(staged.z, ...zargs);
      // Staging keys expire on their own if this process dies half way.
      if (i === 0) await this.redis.pexpire(staged.z, 600_000);
      await this.redis.hset(staged.meta, ...hargs);
    }
    await this.redis.hdel(staged.meta, 'staging');
    const epoch = randomUUID().slice(0, 8);
    return (await this.redis.installBoard(k.z, k.meta, staged.z, staged.meta, replace ? 1 : 0, epoch, Date.now() * 1000, this.expiresAt(boardId))) === 1;
  }
}
