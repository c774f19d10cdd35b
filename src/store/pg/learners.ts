import type { Knex } from '@mikro-orm/postgresql';
import type { EnrollmentState, LearnerState, XpTransaction } from '../../domain/learners/state';
import type { LedgerCursor } from '../../domain/ports';
import type { Orm } from './orm';
import { BadgeAwardEntity, EnrollmentEntity, LearnerEntity, LessonProgressEntity } from './entities';

const ms = (d: Date | string | null | undefined): number | null => (d == null ? null : new Date(d).getTime());

/** Learners' durable record: what hydration and rebuilds read back. */
export class LearnerRepository {
  constructor(private readonly orm: Orm) {}

  private knex(): Knex {
    return this.orm.em.getKnex();
  }

  /** A learner's state as Postgres holds it, or null when Postgres has never seen them. */
  async load(learnerId: string): Promise<LearnerState | null> {
    const em = this.orm.em.fork();
    const [row, enrollments, lessons, badges] = await Promise.all([
      em.findOne(LearnerEntity, { id: learnerId }),
      em.find(EnrollmentEntity, { learnerId }),
      em.find(LessonProgressEntity, { learnerId, completedAt: { $ne: null } }),
      em.find(BadgeAwardEntity, { learnerId }),
    ]);
    if (!row && enrollments.length === 0) return null;
    const perCourse = new Map<string, number>();
    for (const l of lessons) perCourse.set(l.courseId, (perCourse.get(l.courseId) ?? 0) + 1);
    return {
      id: learnerId,
      totalXp: row?.totalXp ?? 0,
      version: Math.max(row?.version ?? 0, ...enrollments.map((e) => e.version)),
      xpAt: ms(row?.xpReachedAt),
      lessonsCompleted: row?.lessonsCompleted ?? lessons.length,
      lessons: new Map(lessons.map((l) => [l.lessonId, ms(l.completedAt)!])),
      enrollments: new Map<string, EnrollmentState>(
        enrollments.map((e) => [
          e.courseId,
          {
            id: e.id,
            courseId: e.courseId,
            enrolledAt: ms(e.enrolledAt)!,
            xpEarned: e.xpEarned,
            xpAt: ms(e.xpReachedAt),
            lessonsCompleted: perCourse.get(e.courseId) ?? 0,
            completedAt: ms(e.completedAt),
          },
        ]),
      ),
      badges: new Map(badges.map((b) => [b.badgeId, ms(b.awardedAt)!])),
    };
  }

  /** One page of a learner's ledger, newest first, strictly after `after`. */
  async history(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]> {
    const q = this.knex()('xp_transactions')
      .select('id', 'amount', 'reason', 'source_id', this.knex().raw('(extract(epoch from occurred_at) * 1000)::float8 as occurred_ms'))
      .where('learner_id', learnerId)
      .orderBy([
        { column: 'occurred_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    if (after) {
      q.andWhere((w) =>
        w
          .where('occurred_at', '<', new Date(after.occurredAt))
          .orWhere((x) => x.where('occurred_at', '=', new Date(after.occurredAt)).andWhere('id', '<', after.id)),
      );
    }
    const rows = (await q) as { id: string; amount: number; reason: string; source_id: string | null; occurred_ms: number }[];
    return rows.map((r) => ({
      id: r.id,
      amount: r.amount,
      reason: r.reason,
      sourceId: r.source_id,
      occurredAt: Math.round(Number(r.occurred_ms)),
    }));
  }

  /** Sum of a learner's ledger (tests and audits). */
  async ledgerTotal(learnerId: string): Promise<number> {
    const row = await this.knex()('xp_transactions').where('learner_id', learnerId).sum<{ total: string | null }[]>('amount as total');
    return Number(row[0]?.total ?? 0);
  }

  /** Every learner id, in pages (rebuilds). */
  async *learnerIds(pageSize = 1000): AsyncGenerator<string[]> {
    let last = '';
    for (;;) {
      const rows = (await this.knex()
        .select('id')
        .from(
          this.knex()
            .select('id')
            .from('learners')
            .union((u) => u.select('learner_id as id').from('enrollments'))
            .as('ids'),
        )
        .where('id', '>', last)
        .orderBy('id')
        .limit(pageSize)) as { id: string }[];
      if (rows.length === 0) return;
      yield rows.map((r) => r.id);
      last = rows[rows.length - 1]!.id;
    }
  }

  /** Number of learners Postgres knows (rebuild progress). */
  async countLearners(): Promise<number> {
    const r = await this.knex().raw<{ rows: { n: number }[] }>(
      'select count(*)::int as n from (select id from learners union select learner_id from enrollments) ids',
    );
    return r.rows[0]!.n;
  }
}
