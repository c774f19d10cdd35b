import type { ActivityTotals, DayRow, ActivityRecord } from '../domain/activity/service';
import type { ActivityReads, LedgerCursor } from '../domain/ports';
import type { ActivityRepository } from './pg/activity';

/**
 * Activity reads (Postgres), read-your-writes: the learner's last action must never be
 * missing. `totals` compares the learner's version in Redis with the learners row's version
 * in Postgres (written in the same transaction as the activities); when Postgres is behind,
 * the learner's partition outbox is written behind first (`flushLearner`), then read again.
 * The barrier costs one primary-key read (the stats' row itself) and a flush only right after
 * a change. Versions only: after a repair Redis starts a new epoch at the version Postgres
 * has, which is not "behind".
 */
export class ActivityStore implements ActivityReads {
  constructor(
    private readonly repo: ActivityRepository,
    private readonly flushLearner: ((learnerId: string) => Promise<void>) | null,
  ) {}

  async totals(learnerId: string, redisVersion: number): Promise<ActivityTotals> {
    const found = await this.repo.totals(learnerId);
    if (found.version >= redisVersion || !this.flushLearner) return found;
    await this.flushLearner(learnerId);
    return this.repo.totals(learnerId);
  }

  days(learnerId: string, from: string, to: string): Promise<Map<string, DayRow>> {
    return this.repo.days(learnerId, from, to);
  }

  recent(learnerId: string, limit: number, after: LedgerCursor | null): Promise<ActivityRecord[]> {
    return this.repo.recent(learnerId, limit, after);
  }
}
