import { Migration } from '@mikro-orm/migrations';

/**
 * Certificates. One per completed enrollment, issued by the event that completed the course
 * (lua/includes/completeCourse.lua) and written behind from its outbox entry: the code is the
 * key (public lookups by code), unique per (learner, course) so a replayed or repaired entry
 * never issues a second one. `event_key` is the completing event.
 */
export class Migration20261126000000_certificates extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table certificates (
        code text primary key,
        learner_id text not null,
        course_id text not null,
        issued_at timestamptz not null,
        event_key uuid not null,
        created_at timestamptz not null default now(),
        unique (learner_id, course_id)
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table certificates;`);
  }
}
