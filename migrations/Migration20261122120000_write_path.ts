import { Migration } from '@mikro-orm/migrations';

/**
 * The event write path: XP sums as bigint, the event log (durable dedupe of callers' event
 * ids), outbox dead letters, and settings fixed for the life of a deployment.
 */
export class Migration20261122120000_write_path extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table learners alter column total_xp type bigint;`);
    this.addSql(`alter table enrollments alter column xp_earned type bigint;`);
    this.addSql(`alter table xp_transactions alter column amount type bigint;`);
    this.addSql(`
      create table learner_events (
        key uuid primary key,
        learner_id text not null,
        client_id text null,
        kind text not null,
        occurred_at timestamptz(3) not null,
        recorded_at timestamptz(3) not null,
        payload jsonb not null
      );`);
    // A caller's event id is remembered forever here (Redis keeps it for a window only).
    this.addSql(`create unique index learner_events_client_idx on learner_events (learner_id, client_id) where client_id is not null;`);
    this.addSql(`create index learner_events_time_idx on learner_events (learner_id, occurred_at desc);`);
    this.addSql(`
      create table outbox_dead_letters (
        id bigserial primary key,
        consumer_group text not null,
        stream text not null,
        entry_id text not null,
        kind text null,
        payload bytea not null,
        error text not null,
        failed_at timestamptz(3) not null default now(),
        unique (consumer_group, stream, entry_id)
      );`);
    this.addSql(`
      create table deployment_settings (
        key text primary key,
        value text not null,
        set_at timestamptz(3) not null default now()
      );`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists deployment_settings;`);
    this.addSql(`drop table if exists outbox_dead_letters;`);
    this.addSql(`drop table if exists learner_events;`);
    this.addSql(`alter table xp_transactions alter column amount type integer;`);
    this.addSql(`alter table enrollments alter column xp_earned type integer;`);
    this.addSql(`alter table learners alter column total_xp type integer;`);
  }
}
