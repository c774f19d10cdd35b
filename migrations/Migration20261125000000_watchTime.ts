import { Migration } from '@mikro-orm/migrations';

/**
 * Watch time (WATCHED). Each learner's watched seconds of a lesson live on the lesson's
 * progress row (`lesson_progress.watch_time_seconds`, there since the first migration, with
 * `updated_at`), so one row per learner and lesson holds both the completion and the watch
 * total: a row may now exist before, or without, a completion. The total is written behind
 * as the script computed it, under its own (epoch, version) guard (`watch_epoch`,
 * `watch_version`), never as an increment. `video` records that a completed lesson was a
 * VIDEO lesson when completed (the facts behind the `vc` counter). Enrollments keep the
 * seconds watched in their course as of their (epoch, version).
 */
export class Migration20261125000000_watchTime extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table lesson_progress
        add column video boolean not null default false,
        add column watch_epoch bigint not null default 0,
        add column watch_version int not null default 0;`);
    // Completions made before this step counted no video: take the kind the catalog says now.
    // Hashes Redis already holds have no vc for them: rebuild-cache (or verify --repair) fills it.
    this.addSql(`
      update lesson_progress p set video = true
      from lessons l where l.id = p.lesson_id and l.kind = 'VIDEO' and p.completed_at is not null;`);
    this.addSql(`alter table enrollments add column watch_seconds int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table enrollments drop column watch_seconds;`);
    this.addSql(`alter table lesson_progress drop column video, drop column watch_epoch, drop column watch_version;`);
  }
}
