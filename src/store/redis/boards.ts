import { boardMember, learnerOfMember, type RankedEntry } from '../../domain/boards/rules';
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

/** Leaderboards in Redis: one sorted set per board (scores negated, best first) and a meta hash. */
export class BoardStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Keys,
  ) {}

  /**
   * Set a learner's score, unless a newer version was already applied. The move is published
   * on the board channel inside the same script.
   * @returns the move, or null when nothing changed
   */
  async setScore(boardId: string, learnerId: string, score: number, reachedAt: number, version: number): Promise<{ previousRank: number | null; rank: number | null; seq: number } | null> {
    const k = this.keys.board(boardId);
    const reply = (await this.redis.setBoardScore(
      k.z,
      k.meta,
      learnerId,
      score,
      boardMember(learnerId, reachedAt),
      version,
      boardId,
      this.keys.channel('board'),
    )) as number[];
    if (Number(reply[0]) === 0) return null;
    const prev = Number(reply[1]);
    const rank = Number(reply[2]);
    return { previousRank: prev < 0 ? null : prev, rank: rank < 0 ? null : rank, seq: Number(reply[3]) };
  }

  /** `count` entries from rank `offset + 1`, best first. */
  async range(boardId: string, offset: number, count: number): Promise<RankedEntry[]> {
    if (count <= 0) return [];
    const flat = await this.redis.zrange(this.keys.board(boardId).z, offset, offset + count - 1, 'WITHSCORES');
    const out: RankedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ rank: offset + i / 2 + 1, learnerId: learnerOfMember(flat[i]!), score: -Number(flat[i + 1]) });
    }
    return out;
  }

  /** Number of ranked learners. */
  async count(boardId: string): Promise<number> {
    return this.redis.zcard(this.keys.board(boardId).z);
  }

  /** A learner's place, read atomically with the board's change counter. */
  async position(boardId: string, learnerId: string): Promise<BoardPosition> {
    const k = this.keys.board(boardId);
    const [seq, rank, score, member] = (await this.redis.boardPosition(k.z, k.meta, learnerId)) as [number, number, number, string];
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
    const members = await this.redis.hmget(k.meta, ...learnerIds.map((id) => `m:${id}`));
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

  /**
   * Replace a board with the given entries (rebuilds). Written to temporary keys under the
   * board's hash tag and renamed into place in one MULTI, so readers never see half a board.
   * The change counter carries on from the old board.
   */
  async replace(boardId: string, entries: readonly { learnerId: string; score: number; reachedAt: number; version: number }[]): Promise<void> {
    const k = this.keys.board(boardId);
    const tmp = { z: `${k.z}:rebuild`, meta: `${k.meta}:rebuild` };
    await this.redis.del(tmp.z, tmp.meta);
    const CHUNK = 1000;
    for (let i = 0; i < entries.length; i += CHUNK) {
      const chunk = entries.slice(i, i + CHUNK).filter((e) => e.score > 0);
      if (chunk.length === 0) continue;
      const zargs: (string | number)[] = [];
      const hargs: (string | number)[] = [];
      for (const e of chunk) {
        const member = boardMember(e.learnerId, e.reachedAt);
        zargs.push(-e.score, member);
        hargs.push(`m:${e.learnerId}`, member, `v:${e.learnerId}`, e.version);
      }
      await this.redis.zadd(tmp.z, ...zargs);
      await this.redis.hset(tmp.meta, ...hargs);
    }
    const seq = Number((await this.redis.hget(k.meta, 'seq')) ?? 0);
    await this.redis.hset(tmp.meta, 'seq', seq + 1);
    const multi = this.redis.multi().del(k.z, k.meta);
    if (entries.some((e) => e.score > 0)) multi.rename(tmp.z, k.z);
    multi.rename(tmp.meta, k.meta);
    await multi.exec();
  }

  /** Delete every board (full rebuilds). */
  async clearAll(): Promise<number> {
    return deleteMatching(this.redis, this.keys.boardPattern());
  }
}
