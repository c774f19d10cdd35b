import type { Knex } from '@mikro-orm/postgresql';
import { BadInput } from '../../domain/errors';
import type { Badge, Course } from '../../domain/catalog/types';
import { assembleCourse, Catalog } from '../../domain/catalog/types';
import type { BadgeCriteria } from '../../domain/badges/criteria';
import type { Level } from '../../domain/levels/rules';
import type { Orm } from './orm';
import {
  BadgeEntity,
  CourseEntity,
  LessonEntity,
  LevelEntity,
  ModuleEntity,
  QuizEntity,
} from './entities';

/** The catalog's durable home. Postgres owns it; each process caches a snapshot. */
export class CatalogRepository {
  constructor(private readonly orm: Orm) {}

  private knex(): Knex {
    return this.orm.em.getKnex();
  }

  /** Load the whole catalog as one snapshot. */
  async load(): Promise<Catalog> {
    const em = this.orm.em.fork();
    const [courses, modules, lessons, quizzes, badges, levels] = await Promise.all([
      em.find(CourseEntity, {}, { orderBy: { position: 'asc', id: 'asc' } }),
      em.find(ModuleEntity, {}, { orderBy: { position: 'asc' } }),
      em.find(LessonEntity, {}, { orderBy: { position: 'asc' } }),
      em.find(QuizEntity, {}, { orderBy: { position: 'asc' } }),
      em.find(BadgeEntity, {}, { orderBy: { createdAt: 'asc', id: 'asc' } }),
      em.find(LevelEntity, {}, { orderBy: { minXp: 'asc' } }),
    ]);
    const built = courses.map((c) =>
      assembleCourse(
        { id: c.id, title: c.title, description: c.description },
        modules
          .filter((m) => m.courseId === c.id)
          .map((m) => ({
            id: m.id,
            courseId: c.id,
            title: m.title,
            position: m.position,
            lessons: lessons
              .filter((l) => l.moduleId === m.id)
              .map((l) => ({
                id: l.id,
                courseId: l.courseId,
                moduleId: l.moduleId,
                title: l.title,
                kind: l.kind,
                durationSeconds: l.durationSeconds,
                xpReward: l.xpReward,
                position: l.position,
              })),
            quizzes: quizzes
              .filter((q) => q.moduleId === m.id)
              .map((q) => ({
                id: q.id,
                courseId: q.courseId,
                moduleId: q.moduleId,
                title: q.title,
                passScore: q.passScore,
                xpReward: q.xpReward,
                position: q.position,
              })),
          })),
      ),
    );
    const badgeList: Badge[] = badges.map((b) => ({
      id: b.id,
      name: b.name,
      description: b.description,
      imageUrl: b.imageUrl,
      criteria: b.criteria as BadgeCriteria,
      xpReward: b.xpReward,
    }));
    const table: Level[] | null = levels.length
      ? levels.map((l) => ({ level: l.level, name: l.name, minXp: l.minXp }))
      : null;
    return new Catalog(built, badgeList, table);
  }

  /** True when no course and no badge exists (the demo catalog is loaded then). */
  async isEmpty(): Promise<boolean> {
    const row = await this.knex().raw<{ rows: { n: number }[] }>(
      'select (select count(*) from courses)::int + (select count(*) from badges)::int as n',
    );
    return row.rows[0]!.n === 0;
  }

  /**
   * Create or replace a course with its modules, lessons and quizzes, in one transaction.
   * @throws BadInput when a module, lesson or quiz id belongs to another course
   */
  async saveCourse(course: Course): Promise<void> {
    await this.knex().transaction(async (trx) => {
      const moduleIds = course.modules.map((m) => m.id);
      const lessons = course.modules.flatMap((m) => m.lessons);
      const quizzes = course.modules.flatMap((m) => m.quizzes);
      for (const [table, ids, kind] of [
        ['modules', moduleIds, 'module'],
        ['lessons', lessons.map((l) => l.id), 'lesson'],
        ['quizzes', quizzes.map((q) => q.id), 'quiz'],
      ] as const) {
        if (ids.length === 0) continue;
        const taken = await trx(table).select('id', 'course_id').whereIn('id', ids as string[]).whereNot('course_id', course.id).first();
        if (taken) {
          throw new BadInput(`The ${kind} id "${taken.id}" already belongs to course "${taken.course_id}".`, 'input.modules');
        }
      }

      const existing = await trx('courses').select('position').where('id', course.id).first();
      const position =
        existing?.position ?? ((await trx('courses').max<{ max: number | null }>('position as max').first())?.max ?? -1) + 1;
      await trx('courses')
        .insert({ id: course.id, title: course.title, description: course.description, position, updated_at: new Date() })
        .onConflict('id')
        .merge(['title', 'description', 'updated_at']);

      // Replace: what the input no longer holds goes (lessons and quizzes first, then modules).
      await trx('lessons').where('course_id', course.id).whereNotIn('id', lessons.map((l) => l.id).concat([''])).delete();
      await trx('quizzes').where('course_id', course.id).whereNotIn('id', quizzes.map((q) => q.id).concat([''])).delete();
      await trx('modules').where('course_id', course.id).whereNotIn('id', moduleIds.concat([''])).delete();

      if (course.modules.length) {
        await trx('modules')
          .insert(course.modules.map((m) => ({ id: m.id, course_id: course.id, title: m.title, position: m.position })))
          .onConflict('id')
          .merge(['title', 'position']);
      }
      if (lessons.length) {
        await trx('lessons')
          .insert(
            lessons.map((l) => ({
              id: l.id,
              course_id: course.id,
              module_id: l.moduleId,
              title: l.title,
              kind: l.kind,
              duration_seconds: l.durationSeconds,
              xp_reward: l.xpReward,
              position: l.position,
            })),
          )
          .onConflict('id')
          .merge(['module_id', 'title', 'kind', 'duration_seconds', 'xp_reward', 'position']);
      }
      if (quizzes.length) {
        await trx('quizzes')
          .insert(
            quizzes.map((q) => ({
              id: q.id,
              course_id: course.id,
              module_id: q.moduleId,
              title: q.title,
              pass_score: q.passScore,
              xp_reward: q.xpReward,
              position: q.position,
            })),
          )
          .onConflict('id')
          .merge(['module_id', 'title', 'pass_score', 'xp_reward', 'position']);
      }
    });
  }

  /** Create or replace a badge. */
  async saveBadge(badge: Badge): Promise<void> {
    await this.knex()('badges')
      .insert({
        id: badge.id,
        name: badge.name,
        description: badge.description,
        image_url: badge.imageUrl,
        criteria: JSON.stringify(badge.criteria),
        xp_reward: badge.xpReward,
      })
      .onConflict('id')
      .merge(['name', 'description', 'image_url', 'criteria', 'xp_reward']);
  }

  /** Replace the level table; `null` restores the default formula. */
  async saveLevels(levels: readonly Level[] | null): Promise<void> {
    await this.knex().transaction(async (trx) => {
      await trx('level_table').delete();
      if (levels?.length) {
        await trx('level_table').insert(levels.map((l) => ({ level: l.level, name: l.name, min_xp: l.minXp })));
      }
    });
  }
}
