import { Migration } from '@mikro-orm/migrations';

/**
 * Profiles: the learner's zone history (`fromMs zone;...`, src/domain/engagement/zones.ts)
 * beside `display_name` and `time_zone` (the zone in force now), and the (epoch, version) of
 * the profile change that wrote them, so an older change written behind late never overwrites
 * a newer one.
 */
export class Migration20261128000000_profiles extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table learners add column zone_history text not null default '';`);
    this.addSql(`alter table learners add column profile_epoch bigint not null default 0;`);
    this.addSql(`alter table learners add column profile_version int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table learners drop column profile_version;`);
    this.addSql(`alter table learners drop column profile_epoch;`);
    this.addSql(`alter table learners drop column zone_history;`);
  }
}
