import { randomUUID } from 'node:crypto';
import { boardMember, learnerOfMember, type RankedEntry } from '../../domain/boards/rules';
import type { BoardEntryRow } from '../pg/boards';
import { deleteMatching } from './client';
import type { Keys } from './keys';
import type { ScriptedRedis } from './scripts';

/**
 * A move on a board, as `setBoardScore` publishes it on the board channel (in board order).
 * Ranks are 1-based; `previousRank` is null when the learner was not ranked before, `rank` is
 * null when they left the board.
 */
export interface BoardMove {
  boardId: string;
  learnerId: string;
  /** The board's change counter after this move. */
  seq: number;
  /** Ranked learners after this move. */
  count: number;
  previousRank: number | null;
  previousScore: number | null;
  previousMember: string | null;
  rank: number | null;
  score: number;
  member: string | null;
}

/** Decode a board channel message. */
export function parseBoardMove(message: string): BoardMove {
  const m = JSON.parse(message) as {
    b: string; l: string; q: number; n: number; pr?: number; ps?: number; pm?: string; r?: number; s: number; m?: string;
  };
  return {
    boardId: m.b,
    learnerId: m.l,
    seq: m.q,
    count: m.n,
    previousRank: m.pr ?? null,
    previousScore: m.ps ?? null,
    previousMember: m.pm ?? null,
    rank: m.r ?? null,
    score: m.s,
    member: m.m ?? null,
  };
}

/** A learner's place on a board with the board's change counter at the time it was read. */
export interface BoardPosition {
  seq: number;
  rank: number | null;
  score: number;
  member: string | null;
}

const NOT_LOADED = -100;

/**
 * Leaderboards in Redis: one sorted set per board (scores negated, best first) and a meta
 * hash (each learner's member and version, the change counter). A board Redis does not hold
 * (never written, or lost with a flush or restart) is loaded from Postgres on first touch,
 * once per process at a time; the install is atomic and keeps a board another instance
 * installed first.
 */
export class BoardStore {
  private readonly loading = new Map<string, Promise<void>>();
  /** Boards loaded from Postgres by this process (tests, metrics). */
  loads = 0;

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
    /** The board's entries as Postgres records them. */
    private readonly loadEntries: (boardId: string) => Promise<BoardEntryRow[]>,
  ) {}

  /**
   * Set a learner's score, unless a newer version was already applied. The move is published
   * on the board channel inside the same script.
   * @returns the move, or null when nothing changed
   */
  async setScore(boardId: string, learnerId: string, score: number, reachedAt: number, version: number): Promise<{ previousRank: number | null; rank: number | null; seq: number } | null> {
    const k = this.keys.board(boardId);
    const run = async () =>
      (await this.redis.setBoardScore(k.z, k.meta, learnerId, score, boardMember(learnerId, reachedAt), version, boardId, this.keys.channel('board'))) as number[];
    let reply = await run();
    if (Number(reply[0]) === NOT_LOADED) {
      await this.ensureLoaded(boardId);
      reply = await run();
    }
    if (Number(reply[0]) !== 1) return null;
    const prev = Number(reply[1]);
    const rank = Number(reply[2]);
    return { previousRank: prev < 0 ? null : prev, rank: rank < 0 ? null : rank, seq: Number(reply[3]) };
  }

  /** `count` entries from rank `offset + 1`, best first. */
  async range(boardId: string, offset: number, count: number): Promise<RankedEntry[]> {
    if (count <= 0) return [];
    const k = this.keys.board(boardId);
    const flat = await this.loaded(boardId, () => this.redis.zrange(k.z, offset, offset + count - 1, 'WITHSCORES'));
    const out: RankedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ rank: offset + i / 2 + 1, learnerId: learnerOfMember(flat[i]!), score: -Number(flat[i + 1]) });
    }
    return out;
  }

  /** Number of ranked learners. */
  async count(boardId: string): Promise<number> {
    const k = this.keys.board(boardId);
    return this.loaded(boardId, () => this.redis.zcard(k.z));
  }

  /** A learner's place, read atomically with the board's change counter. */
  async position(boardId: string, learnerId: string): Promise<BoardPosition> {
    const k = this.keys.board(boardId);
    let reply = (await this.redis.boardPosition(k.z, k.meta, learnerId)) as number[];
    if (Number(reply[0]) === NOT_LOADED) {
      await this.ensureLoaded(boardId);
      reply = (await this.redis.boardPosition(k.z, k.meta, learnerId)) as number[];
    }
    const [seq, rank, score, member] = reply as [number, number, number, string];
    return {
      seq: Number(seq),
      rank: Number(rank) < 0 ? null : Number(rank),
      score: Number(rank) < 0 ? 0 : Number(score),
      member: member === '' ? null : member,
    };
  }

  /** Several learners' ranks in one round trip (null when not ranked). */
  async ranks(boardId: string, learnerIds: readonly string[]): Promise<(RankedEntry | null)[]> {
    if (learnerIds.length === 0) return [];
    const k = this.keys.board(boardId);
    const members = await this.loaded(boardId, () => this.redis.hmget(k.meta, ...learnerIds.map((id) => `m:${id}`)));
    const pipe = this.redis.pipeline();
    for (const m of members) {
      if (m) {
        pipe.zrank(k.z, m);
        pipe.zscore(k.z, m);
      }
    }
    const replies = (await pipe.exec()) ?? [];
    let i = 0;
    return learnerIds.map((learnerId, j) => {
      if (!members[j]) return null;
      const rank = replies[i++]?.[1] as number | null;
      const score = replies[i++]?.[1] as string | null;
      if (rank === null || rank === undefined || score === null) return null;
      return { rank: Number(rank) + 1, learnerId, score: -Number(score) };
    });
  }

  /** Replace a board with the given entries (rebuilds), atomically. */
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
        if (await this.redis.exists(this.keys.board(boardId).meta)) return;
        this.loads += 1;
        await this.install(boardId, await this.loadEntries(boardId), false);
      })().finally(() => this.loading.delete(boardId));
      this.loading.set(boardId, job);
    }
    return job;
  }

  /** Run a read together with a check that the board is loaded; load it and read again if not. */
  private async loaded<T>(boardId: string, read: () => Promise<T>): Promise<T> {
    const meta = this.keys.board(boardId).meta;
    const [exists, value] = await Promise.all([this.redis.exists(meta), read()]);
    if (exists) return value;
    await this.ensureLoaded(boardId);
    return read();
  }

  /** Stage entries under the board's hash tag, then swap them in with one script. */
  private async install(boardId: string, entries: readonly BoardEntryRow[], replace: boolean): Promise<boolean> {
    const k = this.keys.board(boardId);
    const tag = randomUUID().slice(0, 8);
    const staged = { z: `${k.z}:staging:${tag}`, meta: `${k.meta}:staging:${tag}` };
    const CHUNK = 1000;
    const ranked = entries.filter((e) => e.score > 0);
    await this.redis.hset(staged.meta, 'seq', 0);
    for (let i = 0; i < ranked.length; i += CHUNK) {
      const zargs: (string | number)[] = [];
      const hargs: (string | number)[] = [];
      for (const e of ranked.slice(i, i + CHUNK)) {
        const member = boardMember(e.learnerId, e.reachedAt);
        zargs.push(-e.score, member);
        hargs.push(`m:${e.learnerId}`, member, `v:${e.learnerId}`, e.version);
      }
      await this.redis.zadd(staged.z, ...zargs);
      await this.redis.hset(staged.meta, ...hargs);
    }
    // Staging keys expire on their own if this process dies half way.
    await this.redis.pexpire(staged.meta, 600_000);
    if (ranked.length) await this.redis.pexpire(staged.z, 600_000);
    return (await this.redis.installBoard(k.z, k.meta, staged.z, staged.meta, replace ? 1 : 0)) === 1;
  }
}
