import type { Knex } from '@mikro-orm/postgresql';
import type { ActivityRecord, ActivityTotals, DayRow } from '../../domain/activity/service';
import type { EventKind } from '../../domain/events/types';
import type { LedgerCursor } from '../../domain/ports';
import type { Orm } from './orm';

const MS = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

// The learner's version (what Postgres has written of them) and their activity totals, in one row.
const TOTALS = `
  select l.version, a.active_days, a.sessions, a.time_seconds
  from (select ?::text as id) i
  left join learners l on l.id = i.id
  left join learner_activity a on a.learner_id = i.id`;

// Per learner, one snapshot: the event log and activities counts, the days' sums and the totals row.
const AUDIT = `
  select ids.id,
    (select count(*) from learner_events e where e.learner_id = ids.id) as logged,
    (select count(*) from activities a where a.learner_id = ids.id) as activities,
    d.days, d.events, d.sessions, d.seconds,
    t.active_days as t_days, t.events as t_events, t.sessions as t_sessions, t.time_seconds as t_seconds
  from unnest(?::text[]) as ids(id)
  cross join lateral (select count(*) filter (where events > 0) as days, coalesce(sum(events), 0) as events,
      coalesce(sum(sessions), 0) as sessions, coalesce(sum(seconds), 0) as seconds
    from activity_days where learner_id = ids.id) d
  left join learner_activity t on t.learner_id = ids.id`;

/** The learner's (outbox-written) activity tables: `activities`, `activity_days`, `learner_activity`. */
export class ActivityRepository {
  constructor(private readonly orm: Orm) {}

  private knex(): Knex {
    return this.orm.em.getKnex();
  }

  /**
   * What disagrees in the learners' activity tables (written in one transaction, so any
   * disagreement is drift, never a write on its way): one activity per logged event, the days'
   * events = the activities, the totals row = the sums over the days.
   * @returns learnerId -> problems, for the learners with any
   */
  async audit(learnerIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (learnerIds.length === 0) return out;
    const res = (await this.knex().raw(AUDIT, [learnerIds as string[]])) as { rows: Record<string, string | number | null>[] };
    for (const r of res.rows) {
      const n = (k: string) => Number(r[k] ?? 0);
      const problems: string[] = [];
      if (n('activities') !== n('logged')) problems.push(`activities ${n('activities')} vs logged events ${n('logged')}`);
      if (n('events') !== n('activities')) problems.push(`activity days count ${n('events')} events vs ${n('activities')} activities`);
      for (const [total, sum, what] of [
        ['t_days', 'days', 'active days'],
        ['t_events', 'events', 'events'],
        ['t_sessions', 'sessions', 'sessions'],
        ['t_seconds', 'seconds', 'time seconds'],
      ] as const) {
        if (n(total) !== n(sum)) problems.push(`activity totals: ${what} ${n(total)} vs ${n(sum)} over the days`);
      }
      if (problems.length) out.set(String(r.id), problems);
    }
    return out;
  }

  /** The learner's version in Postgres and their activity totals (zeros when none). */
  async totals(learnerId: string): Promise<ActivityTotals> {
    const res = (await this.knex().raw(TOTALS, [learnerId])) as {
      rows: { version: number | null; active_days: number | null; sessions: number | null; time_seconds: string | number | null }[];
    };
    const r = res.rows[0]!;
    return { version: Number(r.version ?? 0), activeDays: Number(r.active_days ?? 0), sessions: Number(r.sessions ?? 0), seconds: Number(r.time_seconds ?? 0) };
  }

  /** The learner's stored days in [from, to] ('YYYY-MM-DD'). */
  async days(learnerId: string, from: string, to: string): Promise<Map<string, DayRow>> {
    const rows = (await this.knex()('activity_days')
      .select(this.knex().raw(`day::text as day`), 'xp', 'events', 'seconds')
      .where('learner_id', learnerId)
      .andWhereRaw('day between ?::date and ?::date', [from, to])) as { day: string; xp: string | number; events: number; seconds: number }[];
    return new Map(rows.map((r) => [r.day, { xp: Number(r.xp), events: r.events, seconds: r.seconds }]));
  }

  /** At most `limit` activities, newest first by (occurred_at, event_key), strictly after `after` (keyset on the learner's time index). */
  async recent(learnerId: string, limit: number, after: LedgerCursor | null): Promise<ActivityRecord[]> {
    const k = this.knex();
    const q = k('activities')
      .select('event_key', 'kind', 'target', 'course_id', 'value', 'xp', k.raw(`${MS('occurred_at')} as occurred_ms`))
      .where('learner_id', learnerId)
      .orderBy([
        { column: 'occurred_at', order: 'desc' },
        { column: 'event_key', order: 'desc' },
      ])
      .limit(limit);
    // The cursor's id is an event key (a uuid: ActivityService checks it).
    if (after) q.andWhereRaw('(occurred_at, event_key) < (?::timestamptz, ?::uuid)', [new Date(after.occurredAt).toISOString(), after.id]);
    const rows = (await q) as {
      event_key: string;
      kind: string;
      target: string;
      course_id: string | null;
      value: number | null;
      xp: number | null;
      occurred_ms: number;
    }[];
    return rows.map((r) => ({
      id: r.event_key,
      type: r.kind as EventKind,
      target: r.target,
      courseId: r.course_id,
      value: r.value,
      xp: r.xp,
      occurredAt: Math.round(Number(r.occurred_ms)),
    }));
  }
}
