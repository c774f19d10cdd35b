import type { Knex } from '@mikro-orm/postgresql';
import { dayUpdate } from '../../../domain/activity/daily';
import { learningDay } from '../../../domain/activity/days';
import { dayString } from '../../../domain/engagement/zones';
import type { EventKind } from '../../../domain/events/types';
import type { EntryOf, OutboxEntry, OutboxKind } from '../entry';
import type { LedgerRow } from './rows';

/**
 * Activity history and learning days, written behind with the rest of a batch (same
 * transaction, called from write.ts):
 * 1. one `activities` row per learner event, keyed by its event key (`on conflict do
 *    nothing`: a replayed or re-written entry is a no-op, whatever path sends it again:
 *    redelivery, repair, rollback);
 * 2. only for rows actually inserted: each touched (learner, day) is recomputed from that
 *    day's activities (`dayUpdate`: O(events that day)) and the learner's totals
 *    (`learner_activity`) move by the difference from the day's stored row.
 * The learner's totals row is locked first (in id order), so two writers never interleave
 * one learner's days; recomputing from the activities makes the result the same whatever
 * order entries arrive in.
 */

/** One `activities` row. */
export interface ActivityRow {
  event_key: string;
  learner_id: string;
  /** The event kind (EventKind): ENROLLED, LESSON_COMPLETED, WATCHED, QUIZ_ATTEMPTED, ACCESSED. */
  kind: EventKind;
  /** What the event was about: the course (ENROLLED), lesson or quiz. */
  target: string;
  course_id: string | null;
  /** The quiz's score (QUIZ_ATTEMPTED), the seconds added (WATCHED); else null. */
  value: number | null;
  /** XP the event paid, its own and its badges' (as the ledger took it); null when nothing. */
  xp: number | null;
  occurred_at: Date;
  /** The learning day of `occurred_at` ('YYYY-MM-DD') in the learner's zone in force then. */
  day: string;
}

type Described = Pick<ActivityRow, 'kind' | 'target' | 'value'>;

/**
 * What each entry kind's activity row says, or null when it is not learning activity (a
 * profile change: no row, no day). A new entry kind must say what its activity is.
 */
const activityOf: { [K in OutboxKind]: (e: EntryOf<K>) => Described | null } = {
  enrolled: (e) => ({ kind: 'ENROLLED', target: e.c, value: null }),
  lesson_completed: (e) => ({ kind: 'LESSON_COMPLETED', target: e.ls, value: null }),
  watched: (e) => ({ kind: 'WATCHED', target: e.ls, value: e.sec }),
  quiz_attempted: (e) => ({ kind: 'QUIZ_ATTEMPTED', target: e.q, value: e.sc }),
  accessed: (e) => ({ kind: 'ACCESSED', target: e.ls, value: null }),
  logged_in: () => ({ kind: 'LOGGED_IN', target: '', value: null }),
  profile: () => null,
  goal_set: () => null,
};

/** The event key a ledger row id derives from (see ledgerIdOf). */
function eventKeyOf(ledgerId: string): string {
  const colon = ledgerId.indexOf(':');
  return colon < 0 ? ledgerId : ledgerId.slice(0, colon);
}

/**
 * The activity rows of a batch, one per event. `paid`: the ledger rows this batch inserted;
 * an event's XP is what the ledger took for it (its own row and its badges'), so an event
 * whose payment the ledger refused (paid already under another event) shows none. Pure.
 */
export function activityRowsOf(entries: readonly OutboxEntry[], ledger: ReadonlyMap<string, LedgerRow>, paid: ReadonlySet<string>): ActivityRow[] {
  const xp = new Map<string, number>();
  for (const row of ledger.values()) {
    if (!paid.has(row.id)) continue;
    const key = eventKeyOf(row.id);
    xp.set(key, (xp.get(key) ?? 0) + row.amount);
  }
  const rows = new Map<string, ActivityRow>();
  for (const { data: d } of entries) {
    const a = (activityOf[d.k] as (e: typeof d) => Described | null)(d);
    if (a === null) continue;
    const earned = xp.get(d.id) ?? 0;
    rows.set(d.id, {
      event_key: d.id,
      learner_id: d.l,
      ...a,
      course_id: 'c' in d ? d.c : null,
      xp: earned > 0 ? earned : null,
      occurred_at: new Date(d.oa),
      // The day the script marked (the learner's zone then); entries from before zones: UTC.
      day: d.dy !== undefined ? dayString(d.dy) : learningDay(d.oa, 'UTC'),
    });
  }
  return [...rows.values()].sort((a, b) => (a.event_key < b.event_key ? -1 : a.event_key > b.event_key ? 1 : 0));
}

const ACTIVITIES = `
  insert into activities (event_key, learner_id, kind, target, course_id, value, xp, occurred_at, day)
  select event_key, learner_id, kind, target, course_id, value, xp, occurred_at, day
  from jsonb_to_recordset(?::jsonb) as t(event_key uuid, learner_id text, kind text, target text, course_id text,
    value int, xp int, occurred_at timestamptz, day date)
  on conflict (event_key) do nothing
  returning learner_id, day::text as day`;

// Creates the learners' totals rows, or locks them (DO UPDATE locks the existing row).
const LOCK_TOTALS = `
  insert into learner_activity as a (learner_id)
  select id from unnest(?::text[]) as t(id) order by id
  on conflict (learner_id) do update set learner_id = a.learner_id`;

// Each touched day: its stored row and every activity time and the XP on it now.
const DAY_STATE = `
  select t.learner_id, t.day::text as day, d.xp as stored_xp, d.events as stored_events,
    d.sessions as stored_sessions, d.seconds as stored_seconds, s.times, s.xp
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, day date)
  left join activity_days d on d.learner_id = t.learner_id and d.day = t.day
  cross join lateral (
    select coalesce(array_agg(round(extract(epoch from a.occurred_at) * 1000)::bigint), '{}') as times, coalesce(sum(a.xp), 0) as xp
    from activities a where a.learner_id = t.learner_id and a.day = t.day
  ) s`;

const DAYS = `
  insert into activity_days (learner_id, day, xp, events, sessions, seconds)
  select learner_id, day, xp, events, sessions, seconds
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, day date, xp bigint, events int, sessions int, seconds int)
  on conflict (learner_id, day) do update set xp = excluded.xp, events = excluded.events,
    sessions = excluded.sessions, seconds = excluded.seconds`;

const TOTALS = `
  update learner_activity a set active_days = a.active_days + t.active_days, events = a.events + t.events,
    sessions = a.sessions + t.sessions, time_seconds = a.time_seconds + t.seconds
  from jsonb_to_recordset(?::jsonb) as t(learner_id text, active_days int, events int, sessions int, seconds bigint)
  where a.learner_id = t.learner_id`;

interface DayStateRow {
  learner_id: string;
  day: string;
  stored_xp: string | null;
  stored_events: number | null;
  stored_sessions: number | null;
  stored_seconds: number | null;
  times: (string | number)[];
  xp: string | number;
}

/**
 * Write a batch's activities and move the days and totals they land on (see the top of this
 * file). Runs inside the writer's transaction.
 * @returns the activity rows inserted (0 for a replay)
 */
export async function writeActivities(
  trx: Knex.Transaction,
  entries: readonly OutboxEntry[],
  ledger: ReadonlyMap<string, LedgerRow>,
  paid: ReadonlySet<string>,
  clientTimeoutMs: number,
): Promise<number> {
  const rows = activityRowsOf(entries, ledger, paid);
  if (rows.length === 0) return 0;
  const raw = <R>(sql: string, param: string | string[]) =>
    trx.raw(sql, [param]).options({ query_timeout: clientTimeoutMs }) as unknown as Promise<{ rows?: R[]; rowCount: number | null }>;
  const inserted = (await raw<{ learner_id: string; day: string }>(ACTIVITIES, JSON.stringify(rows))).rows ?? [];
  if (inserted.length === 0) return 0;

  const days = new Map<string, { learner_id: string; day: string }>();
  for (const r of inserted) days.set(`${r.learner_id}\u0000${r.day}`, { learner_id: r.learner_id, day: r.day });
  const learners = [...new Set(inserted.map((r) => r.learner_id))].sort();
  await raw(LOCK_TOTALS, learners);

  const state = (await raw<DayStateRow>(DAY_STATE, JSON.stringify([...days.values()]))).rows ?? [];
  const dayRows: object[] = [];
  const totals = new Map<string, { learner_id: string; active_days: number; events: number; sessions: number; seconds: number }>();
  for (const s of state) {
    const stored =
      s.stored_events === null
        ? null
        : { xp: Number(s.stored_xp), events: Number(s.stored_events), sessions: Number(s.stored_sessions), seconds: Number(s.stored_seconds) };
    const { day, delta } = dayUpdate(stored, s.times.map(Number), Number(s.xp));
    dayRows.push({ learner_id: s.learner_id, day: s.day, ...day });
    const t = totals.get(s.learner_id) ?? { learner_id: s.learner_id, active_days: 0, events: 0, sessions: 0, seconds: 0 };
    t.active_days += delta.activeDays;
    t.events += delta.events;
    t.sessions += delta.sessions;
    t.seconds += delta.seconds;
    totals.set(s.learner_id, t);
  }
  dayRows.sort((a, b) => {
    const x = a as { learner_id: string; day: string };
    const y = b as { learner_id: string; day: string };
    return x.learner_id < y.learner_id ? -1 : x.learner_id > y.learner_id ? 1 : x.day < y.day ? -1 : x.day > y.day ? 1 : 0;
  });
  await raw(DAYS, JSON.stringify(dayRows));
  await raw(TOTALS, JSON.stringify([...totals.values()]));
  return inserted.length;
}
