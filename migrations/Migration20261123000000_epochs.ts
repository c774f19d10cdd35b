import { Migration } from '@mikro-orm/migrations';

/**
 * Learner epochs (see src/store/redis/lua/includes/epoch.lua): snapshots are ordered by
 * (epoch, version), so a learner whose Redis hash was rebuilt after Redis fell behind Postgres
 * starts a new run of versions instead of being refused as older. Rows written before have
 * epoch 0.
 */
export class Migration20261123000000_epochs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table learners add column epoch bigint not null default 0;`);
    this.addSql(`alter table enrollments add column epoch bigint not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table enrollments drop column epoch;`);
    this.addSql(`alter table learners drop column epoch;`);
  }
}
