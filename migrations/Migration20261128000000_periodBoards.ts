import { Migration } from '@mikro-orm/migrations';

/**
 * Period boards (DAILY, WEEKLY, MONTHLY): each ledger row says which periods of its event's
 * time it counted in (`periods`: 1 its day, 2 its ISO week, 4 its month), as the learner's
 * script decided from when the event was recorded (a period takes late events for a grace
 * window, then is frozen). A period board is the sum of its rows, so loads, rebuilds and verify
 * agree with Redis whatever the grace setting is now. Rows written before have 0: period boards
 * count XP from the first event after this version is deployed, as the learners' hashes do.
 * The partial index serves a period board's load (rows of a time range that counted somewhere).
 */
export class Migration20261128000000_periodBoards extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table xp_transactions add column periods smallint not null default 0;`);
    this.addSql(`create index xp_transactions_periods_idx on xp_transactions (occurred_at) where periods <> 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists xp_transactions_periods_idx;`);
    this.addSql(`alter table xp_transactions drop column periods;`);
  }
}
