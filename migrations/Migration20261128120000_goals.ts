import { Migration } from '@mikro-orm/migrations';

/**
 * Daily goals. `daily_goals`: one row per learner and learning day with activity or goals: what
 * the learner did that day toward goals (XP, lessons, seconds watched, quiz attempts), the day's
 * targets (in GoalKind order: XP, LESSONS, WATCH_MINUTES, QUIZZES) and which goals completed
 * (bit i), at the (epoch, version) of the event that last moved it. `learners.goal_targets`:
 * the standing targets ("tx|tl|tw|tq") and the day they apply from.
 */
export class Migration20261128120000_goals extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table daily_goals (
        learner_id text not null,
        day date not null,
        xp bigint not null default 0,
        lessons int not null default 0,
        watch_seconds bigint not null default 0,
        quizzes int not null default 0,
        targets int[] not null default '{0,0,0,0}',
        done smallint not null default 0,
        epoch bigint not null default 0,
        version int not null default 0,
        primary key (learner_id, day)
      );`);
    this.addSql(`alter table learners add column goal_targets text not null default '';`);
    this.addSql(`alter table learners add column goal_targets_day int not null default 0;`);
    this.addSql(`alter table learners add column goals_epoch bigint not null default 0;`);
    this.addSql(`alter table learners add column goals_version int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table learners drop column goals_version;`);
    this.addSql(`alter table learners drop column goals_epoch;`);
    this.addSql(`alter table learners drop column goal_targets_day;`);
    this.addSql(`alter table learners drop column goal_targets;`);
    this.addSql(`drop table daily_goals;`);
  }
}
