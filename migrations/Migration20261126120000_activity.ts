import { Migration } from '@mikro-orm/migrations';

/**
 * Activity history, the calendar and the learner's activity totals (issue 7, step 5).
 *
 * - `activities`: one row per learner event (every kind), keyed by the event key, so a
 *   replayed or re-written outbox entry is a no-op. `day` is the event's learning day, fixed
 *   when written (UTC until learners have zones). `value` is the quiz's score or the seconds a
 *   watch added; `xp` what the event paid (its own and its badges'), null when nothing.
 * - `activity_days`: per learner and learning day, the XP, events, sessions and seconds of that
 *   day (recomputed from the day's activities whenever one lands on it).
 * - `learner_activity`: per learner, the sums over the days (active days, events, sessions,
 *   seconds), moved by the difference whenever a day changes.
 *
 * Events logged before this step are backfilled from the event log (`learner_events`) and the
 * ledger (`BACKFILL`), with the same rules as the writer: the writer and the backfill agree
 * (test/activity.test.ts checks it).
 */
export class Migration20261126120000_activity extends Migration {
  /** Fill the three tables from the event log and the ledger; safe on a database that already has rows. */
  static readonly BACKFILL = [
    `insert into activities (event_key, learner_id, kind, target, course_id, value, xp, occurred_at, day)
     select e.key, e.learner_id,
       case e.kind when 'enrolled' then 'ENROLLED' when 'lesson_completed' then 'LESSON_COMPLETED'
         when 'watched' then 'WATCHED' when 'quiz_attempted' then 'QUIZ_ATTEMPTED' when 'accessed' then 'ACCESSED' else upper(e.kind) end,
       case e.kind when 'enrolled' then e.payload->>'c' when 'quiz_attempted' then e.payload->>'q' else coalesce(e.payload->>'ls', e.payload->>'c', '') end,
       e.payload->>'c',
       case e.kind when 'quiz_attempted' then (e.payload->>'sc')::int when 'watched' then (e.payload->>'sec')::int else null end,
       nullif(coalesce(x.xp, 0), 0),
       e.occurred_at, (e.occurred_at at time zone 'UTC')::date
     from learner_events e
     left join (select split_part(id, ':', 1) as key, sum(amount)::int as xp from xp_transactions group by 1) x on x.key = e.key::text
     on conflict (event_key) do nothing`,
    `insert into activity_days (learner_id, day, xp, events, sessions, seconds)
     select learner_id, day, sum(xp), sum(n), count(*), sum(greatest(60, floor(extract(epoch from (last - first)))))
     from (
       select learner_id, day, sid, sum(coalesce(xp, 0)) as xp, count(*) as n, min(occurred_at) as first, max(occurred_at) as last
       from (
         select learner_id, day, xp, occurred_at,
           sum(case when prev is null or occurred_at - prev > interval '30 minutes' then 1 else 0 end)
             over (partition by learner_id, day order by occurred_at, event_key) as sid
         from (select a.*, lag(occurred_at) over (partition by learner_id, day order by occurred_at, event_key) as prev from activities a) a
       ) s group by learner_id, day, sid
     ) sessions group by learner_id, day
     on conflict (learner_id, day) do update set xp = excluded.xp, events = excluded.events, sessions = excluded.sessions, seconds = excluded.seconds`,
    `insert into learner_activity (learner_id, active_days, events, sessions, time_seconds)
     select learner_id, count(*), sum(events), sum(sessions), sum(seconds) from activity_days group by learner_id
     on conflict (learner_id) do update set active_days = excluded.active_days, events = excluded.events,
       sessions = excluded.sessions, time_seconds = excluded.time_seconds`,
  ];

  override async up(): Promise<void> {
    this.addSql(`
      create table activities (
        event_key uuid primary key,
        learner_id text not null,
        kind text not null,
        target text not null,
        course_id text null,
        value int null,
        xp int null,
        occurred_at timestamptz(3) not null,
        day date not null
      );`);
    // recentActivity's keyset, newest first.
    this.addSql(`create index activities_learner_time_idx on activities (learner_id, occurred_at desc, event_key desc);`);
    // A day's recompute reads that day's activities.
    this.addSql(`create index activities_learner_day_idx on activities (learner_id, day);`);
    this.addSql(`
      create table activity_days (
        learner_id text not null,
        day date not null,
        xp bigint not null default 0,
        events int not null default 0,
        sessions int not null default 0,
        seconds int not null default 0,
        primary key (learner_id, day)
      );`);
    this.addSql(`
      create table learner_activity (
        learner_id text primary key,
        active_days int not null default 0,
        events int not null default 0,
        sessions int not null default 0,
        time_seconds bigint not null default 0
      );`);
    for (const sql of Migration20261126120000_activity.BACKFILL) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists learner_activity;`);
    this.addSql(`drop table if exists activity_days;`);
    this.addSql(`drop table if exists activities;`);
  }
}
