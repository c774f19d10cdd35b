import { Migration } from '@mikro-orm/migrations';

/**
 * The newest outbox stream id the Postgres writer has written, per partition. A Redis whose
 * stream has not reached it (restored from an older snapshot, a failover that lost writes,
 * restarted empty) is behind Postgres: see src/store/rollback.ts.
 */
export class Migration20261123010000_watermarks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table outbox_watermarks (
        partition int primary key,
        ms bigint not null,
        seq bigint not null,
        updated_at timestamptz(3) not null default now()
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists outbox_watermarks;`);
  }
}
