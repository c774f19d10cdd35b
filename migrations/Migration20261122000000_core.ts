import { Migration } from '@mikro-orm/migrations';

/** Catalog, learner snapshots, enrollments, lesson progress, the XP ledger and badge awards. */
export class Migration20261122000000_core extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table courses (
        id text primary key,
        title text not null,
        description text null,
        position integer not null default 0,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );`);
    this.addSql(`
      create table modules (
        id text primary key,
        course_id text not null references courses(id) on delete cascade,
        title text not null,
        position integer not null
      );`);
    this.addSql(`create index modules_course_idx on modules (course_id, position);`);
    this.addSql(`
      create table lessons (
        id text primary key,
        course_id text not null references courses(id) on delete cascade,
        module_id text not null references modules(id) on delete cascade,
        title text not null,
        kind text not null check (kind in ('VIDEO', 'READING', 'CHALLENGE')),
        duration_seconds integer null check (duration_seconds > 0),
        xp_reward integer not null check (xp_reward >= 0),
        position integer not null
      );`);
    this.addSql(`create index lessons_module_idx on lessons (module_id, position);`);
    this.addSql(`
      create table quizzes (
        id text primary key,
        course_id text not null references courses(id) on delete cascade,
        module_id text not null references modules(id) on delete cascade,
        title text not null,
        pass_score integer not null check (pass_score between 0 and 100),
        xp_reward integer not null check (xp_reward >= 0),
        position integer not null
      );`);
    this.addSql(`create index quizzes_module_idx on quizzes (module_id, position);`);
    this.addSql(`
      create table badges (
        id text primary key,
        name text not null,
        description text null,
        image_url text null,
        criteria jsonb not null,
        xp_reward integer not null default 0 check (xp_reward >= 0),
        created_at timestamptz(3) not null default now()
      );`);
    this.addSql(`
      create table level_table (
        level integer primary key,
        name text null,
        min_xp integer not null unique
      );`);

    this.addSql(`
      create table learners (
        id text primary key,
        display_name text null,
        time_zone text not null default 'UTC',
        total_xp integer not null default 0,
        lessons_completed integer not null default 0,
        xp_reached_at timestamptz(3) null,
        version integer not null default 0,
        created_at timestamptz(3) not null default now(),
        updated_at timestamptz(3) not null default now()
      );`);
    this.addSql(`create index learners_total_xp_idx on learners (total_xp desc, xp_reached_at asc);`);
    this.addSql(`
      create table enrollments (
        id uuid primary key,
        learner_id text not null,
        course_id text not null,
        enrolled_at timestamptz(3) not null,
        completed_at timestamptz(3) null,
        xp_earned integer not null default 0,
        xp_reached_at timestamptz(3) null,
        version integer not null default 0,
        unique (learner_id, course_id)
      );`);
    this.addSql(`create index enrollments_course_idx on enrollments (course_id, xp_earned desc);`);
    this.addSql(`
      create table lesson_progress (
        learner_id text not null,
        lesson_id text not null,
        course_id text not null,
        completed_at timestamptz(3) null,
        watch_time_seconds integer not null default 0,
        updated_at timestamptz(3) not null,
        primary key (learner_id, lesson_id)
      );`);
    this.addSql(`
      create table xp_transactions (
        id text primary key,
        learner_id text not null,
        amount integer not null,
        reason text not null,
        source_id text null,
        course_id text null,
        occurred_at timestamptz(3) not null
      );`);
    // What is paid once stays paid once, even if two events carry it under different ids.
    this.addSql(`create unique index xp_transactions_once_idx on xp_transactions (learner_id, reason, source_id);`);
    this.addSql(`create index xp_transactions_history_idx on xp_transactions (learner_id, occurred_at desc, id desc);`);
    this.addSql(`
      create table badge_awards (
        learner_id text not null,
        badge_id text not null,
        awarded_at timestamptz(3) not null,
        primary key (learner_id, badge_id)
      );`);
  }

  override async down(): Promise<void> {
    for (const t of ['badge_awards', 'xp_transactions', 'lesson_progress', 'enrollments', 'learners', 'level_table', 'badges', 'quizzes', 'lessons', 'modules', 'courses']) {
      this.addSql(`drop table if exists ${t} cascade;`);
    }
  }
}
