import type { Knex } from '@mikro-orm/postgresql';
import { isPeriodRetained, oldestRetainedPeriod, PERIOD_KINDS, periodKeyOf, periodOf } from '../../domain/boards/periods';
import { boardIdOf, boardRefOf } from '../../domain/boards/rules';
import { PERIOD_FLAGS } from '../outbox/entry';
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

/** Ledger reasons that count in a course's XP (and its boards). */
const COURSE_REASONS = `('lesson_completed', 'quiz_passed')`;

const DAY_MS = 86_400_000;

/**
 * Boards recomputed from the durable record: the global board from learner snapshots, a
 * course board from enrollments, a period board (DAILY, WEEKLY, MONTHLY) from the ledger rows
 * of its period that counted in it (`periods`, as the learner's script decided). Used to load a
 * board Redis lost and by full rebuilds.
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
    if (ref.periodKey) {
      const period = periodOf(ref.periodKey);
      // A learner's period score is reached at their latest award that counts in it (as the script keeps it).
      const res = (await k.raw(
        `select t.learner_id, sum(t.amount) as score, (extract(epoch from max(t.occurred_at)) * 1000)::float8 as at, l.epoch, l.version
           from xp_transactions t join learners l on l.id = t.learner_id
          where t.occurred_at >= ? and t.occurred_at < ? and (t.periods & ?) <> 0
            ${ref.courseId === null ? '' : `and t.course_id = ? and t.reason in ${COURSE_REASONS}`}
          group by t.learner_id, l.epoch, l.version
         having sum(t.amount) > 0`,
        [new Date(period.start), new Date(period.end), PERIOD_FLAGS[period.kind], ...(ref.courseId === null ? [] : [ref.courseId])],
      )) as { rows: { learner_id: string; score: string | number; at: number; epoch: string | number; version: number }[] };
      return res.rows.map((r) => ({ learnerId: r.learner_id, score: Number(r.score), reachedAt: Math.round(Number(r.at)), epoch: Number(r.epoch), version: r.version }));
    }
    const at = k.raw('(extract(epoch from xp_reached_at) * 1000)::float8 as at');
    const rows = (ref.courseId === null
      ? await k('learners').select('id as learner_id', 'total_xp as score', 'epoch', 'version', at).where('total_xp', '>', 0)
      : await k('enrollments')
          .select('learner_id', 'xp_earned as score', 'epoch', 'version', at)
          .where({ course_id: ref.courseId })
          .andWhere('xp_earned', '>', 0)) as { learner_id: string; score: string | number; epoch: string | number; version: number; at: number | null }[];
    return rows.map((r) => ({ learnerId: r.learner_id, score: Number(r.score), reachedAt: Math.round(Number(r.at ?? 0)), epoch: Number(r.epoch), version: r.version }));
  }

  /** Ids of every board Postgres has entries for: all-time boards, and the period boards still retained at `now`. */
  async boardIds(now: number = Date.now()): Promise<string[]> {
    const courses = (await this.knex()('enrollments').distinct('course_id').where('xp_earned', '>', 0).orderBy('course_id')) as { course_id: string }[];
    return ['g:all', ...courses.map((c) => `c:${c.course_id}:all`), ...(await this.periodBoardIds(now))];
  }

  /** Ids of the period boards retained at `now` that some award counted in. */
  private async periodBoardIds(now: number): Promise<string[]> {
    const from = Math.min(...PERIOD_KINDS.map((kind) => periodOf(oldestRetainedPeriod(kind, now)).start));
    const res = (await this.knex().raw(
      `select distinct floor(extract(epoch from occurred_at) / 86400)::int as day, periods,
              case when reason in ${COURSE_REASONS} then course_id end as course_id
         from xp_transactions where occurred_at >= ? and periods <> 0`,
      [new Date(from)],
    )) as { rows: { day: number; periods: number; course_id: string | null }[] };
    const ids = new Set<string>();
    for (const r of res.rows) {
      for (const period of PERIOD_KINDS) {
        if ((r.periods & PERIOD_FLAGS[period]) === 0) continue;
        const periodKey = periodKeyOf(period, r.day * DAY_MS);
        if (!isPeriodRetained(periodKey, now)) continue;
        ids.add(boardIdOf({ period, courseId: null, periodKey }));
        if (r.course_id !== null) ids.add(boardIdOf({ period, courseId: r.course_id, periodKey }));
      }
    }
    return [...ids].sort();
  }
}
