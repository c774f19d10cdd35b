import { Migration } from '@mikro-orm/migrations';

/**
 * Quiz attempts (QUIZ_ATTEMPTED): one row per attempt, numbered per learner and quiz, written
 * behind from `quiz_attempted` outbox entries. They are the durable facts the learner's quiz
 * counters are loaded from (attempts, best scores, first passes). Enrollments keep the number
 * of distinct quizzes passed in their course, as of their (epoch, version).
 */
export class Migration20261124000000_quizAttempts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table quiz_attempts (
        learner_id text not null,
        quiz_id text not null,
        attempt int not null check (attempt > 0),
        course_id text not null,
        score int not null check (score between 0 and 100),
        passed boolean not null,
        attempted_at timestamptz(3) not null,
        event_key uuid not null,
        primary key (learner_id, quiz_id, attempt)
      );`);
    // A learner's attempts, oldest first (all quizzes, or one): the score chart.
    this.addSql(`create index quiz_attempts_learner_time_idx on quiz_attempts (learner_id, attempted_at, quiz_id, attempt);`);
    this.addSql(`alter table enrollments add column quizzes_passed int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table enrollments drop column quizzes_passed;`);
    this.addSql(`drop table if exists quiz_attempts;`);
  }
}
