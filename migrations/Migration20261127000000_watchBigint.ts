import { Migration } from '@mikro-orm/migrations';

/**
 * Watch totals as bigint. A lesson's total is bounded (10 viewings, `maxWatchTotal`), but a
 * course may hold 20,000 lessons: its sum could pass 2^31 and an integer column would refuse
 * the learner's entries (the write-behind would dead-letter them).
 */
export class Migration20261127000000_watchBigint extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table lesson_progress alter column watch_time_seconds type bigint;`);
    this.addSql(`alter table enrollments alter column watch_seconds type bigint;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table enrollments alter column watch_seconds type int;`);
    this.addSql(`alter table lesson_progress alter column watch_time_seconds type int;`);
  }
}
