import type { Knex } from '@mikro-orm/postgresql';
import { boardRefOf } from '../../domain/boards/rules';
import type { Orm } from './orm';

/** One learner's standing on a board, as Postgres records it. */
export interface BoardEntryRow {
  learnerId: string;
  score: number;
  reachedAt: number;
  /** The learner's epoch and version as of the score (see lua/includes/epoch.lua). */
  epoch: number;
  version: number;
}

/**
 * Boards recomputed from the durable record: the global board from learner snapshots, a
 * course board from enrollments. Used to load a board Redis lost and by full rebuilds.
 */
export class BoardRepository {
  constructor(private readonly orm: Orm) {}

  private knex(): Knex {
    return this.orm.em.getKnex();
  }

  /** Every ranked learner of a board (score > 0). */
  async entries(boardId: string): Promise<BoardEntryRow[]> {
    const ref = boardRefOf(boardId);
    const k = this.knex();
    const at = k.raw('(extract(epoch from xp_reached_at) * 1000)::float8 as at');
    const rows = (ref.courseId === null
      ? await k('learners').select('id as learner_id', 'total_xp as score', 'epoch', 'version', at).where('total_xp', '>', 0)
      : await k('enrollments')
          .select('learner_id', 'xp_earned as score', 'epoch', 'version', at)
          .where({ course_id: ref.courseId })
          .andWhere('xp_earned', '>', 0)) as { learner_id: string; score: string | number; epoch: string | number; version: number; at: number | null }[];
    return rows.map((r) => ({ learnerId: r.learner_id, score: Number(r.score), reachedAt: Math.round(Number(r.at ?? 0)), epoch: Number(r.epoch), version: r.version }));
  }

  /** Ids of every board Postgres has entries for. */
  async boardIds(): Promise<string[]> {
    const courses = (await this.knex()('enrollments').distinct('course_id').where('xp_earned', '>', 0).orderBy('course_id')) as { course_id: string }[];
    return ['g:all', ...courses.map((c) => `c:${c.course_id}:all`)];
  }
}
