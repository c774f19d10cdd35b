import type { GoalDay } from '../../domain/engagement/goals';
import { dayString } from '../../domain/engagement/zones';
import type { Knex } from '@mikro-orm/postgresql';
import type { LedgerCursor } from '../../domain/ports';
import type { AttemptCursor, QuizAttemptRecord } from '../../domain/events/types';
import { isPeriodRetained, keptPeriodsFrom, oldestRetainedPeriod, PERIOD_KINDS, periodKeyOf, periodOf, type PeriodKind } from '../../domain/boards/periods';
import type { Clock } from '../../domain/ports';
import type { EnrollmentState, LearnerState, PeriodScore, PeriodScores, XpTransaction } from '../../domain/learners/state';
import { PERIOD_FLAGS } from '../outbox/entry';
import type { IssuedCertificate } from '../../domain/progress/certificates';
import { RECENT_XP_ROWS } from '../redis/learnerHash';
import type { Orm } from './orm';

const ms = (v: string | number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(Number(v)));
const MS = (col: string) => `(extract(epoch from ${col}) * 1000)::float8`;

/**
 * Quizzes passed in enrollment `e`'s course, as lua/quizAttempt-3.lua counts `cq:<course>`: a
 * quiz counts in the course of its first passing attempt (the one that set `qp:`), once. Not
 * "any passing attempt in the course": a quiz id an edit removed from one course and gave to
 * another is passed once for the learner, and the live counter, hydration, verify and repair
 * must agree on where that pass counts.
 */
const PASSED_IN_COURSE = `(select count(*) from (select distinct on (a.quiz_id) a.course_id from quiz_attempts a
     where a.learner_id = e.learner_id and a.passed order by a.quiz_id, a.attempt) f
   where f.course_id = e.course_id)`;

/** Ledger reasons that count in an enrollment's course XP. */
const COURSE_REASONS = `('lesson_completed', 'quiz_passed')`;

/**
 * A learner's ledger rows that counted in board periods, since :from, summed per UTC day, period
 * flags and course (course XP only): [day number, periods, courseId | null, xp, latest ms].
 */
const PERIOD_ROWS = (learner: string) => `(select coalesce(json_agg(json_build_array(x.day, x.periods, x.course_id, x.xp, x.at)), '[]'::json)
     from (select floor(extract(epoch from t.occurred_at) / 86400)::int as day, t.periods,
                  case when t.reason in ${COURSE_REASONS} then t.course_id end as course_id,
                  sum(t.amount) as xp, ${MS('max(t.occurred_at)')} as at
             from xp_transactions t where t.learner_id = ${learner} and t.periods <> 0 and t.occurred_at >= :from
            group by 1, 2, 3) x)`;

type PeriodRow = [number, number, string | null, string | number, number];

/**
 * A learner's period scores from their PERIOD_ROWS, for the periods `wanted` accepts: each row
 * counts in the periods its flags name, globally and, with a course, in the course. Pure.
 */
export function periodScoresOf(rows: readonly PeriodRow[], wanted: (kind: PeriodKind, key: string) => boolean): Map<string, PeriodScores> {
  const out = new Map<string, { global: PeriodScore; courses: Map<string, PeriodScore> }>();
  const add = (s: PeriodScore, xp: number, at: number) => {
    s.xp += xp;
    s.at = Math.max(s.at, at);
  };
  for (const [day, flags, course, amount, atMs] of rows) {
    const xp = Number(amount);
    const at = Math.round(Number(atMs));
    for (const kind of PERIOD_KINDS) {
      if ((flags & PERIOD_FLAGS[kind]) === 0) continue;
      const key = periodKeyOf(kind, day * 86_400_000);
      if (!wanted(kind, key)) continue;
      let p = out.get(key);
      if (!p) out.set(key, (p = { global: { xp: 0, at: 0 }, courses: new Map() }));
      add(p.global, xp, at);
      if (course !== null) {
        let c = p.courses.get(course);
        if (!c) p.courses.set(course, (c = { xp: 0, at: 0 }));
        add(c, xp, at);
      }
    }
  }
  return out;
}

/** Where a learner's period rows start: the earliest period `kept` names. */
const periodRowsFrom = (kept: Record<PeriodKind, string>) => new Date(Math.min(...PERIOD_KINDS.map((k) => periodOf(kept[k]).start)));

/**
 * A learner's whole record in one statement, so it reads one snapshot: a batch committing
 * meanwhile is either all in it or not at all (no lesson without its XP, no XP without its
 * lesson). A stranger costs this one round trip and nothing else.
 */
/** Day records toward goals a learner's hash keeps (GOAL_DAYS in lua/includes/goals.lua). */
const GOAL_DAYS = 8;

const LOAD_LEARNER = `
select
  (select json_build_object('xp', total_xp, 'lc', lessons_completed, 'xat', ${MS('xp_reached_at')}, 'v', version,
            'dn', display_name, 'tzh', zone_history, 'gt', goal_targets, 'gtd', goal_targets_day)
     from learners where id = :id) as learner,
  (select coalesce(json_agg(json_build_array(g.day - date '1970-01-01', g.xp, g.lessons, g.watch_seconds, g.quizzes, g.targets, g.done) order by g.day desc), '[]'::json)
     from (select * from daily_goals where learner_id = :id order by day desc limit ${GOAL_DAYS}) g) as goal_days,
  (select coalesce(sum((done & 1) + ((done >> 1) & 1) + ((done >> 2) & 1) + ((done >> 3) & 1)), 0) from daily_goals where learner_id = :id) as goals_done,
  (select coalesce(json_agg(json_build_object(
            'c', e.course_id, 'i', e.id, 'eat', ${MS('e.enrolled_at')}, 'x', e.xp_earned, 'xat', ${MS('e.xp_reached_at')},
            'ec', ${MS('e.completed_at')}, 'v', e.version,
            'crt', (select c.code from certificates c where c.learner_id = e.learner_id and c.course_id = e.course_id),
            'cc', (select count(*) from lesson_progress p
                    where p.learner_id = e.learner_id and p.course_id = e.course_id and p.completed_at is not null),
            'cq', ${PASSED_IN_COURSE},
            'cw', (select coalesce(sum(p.watch_time_seconds), 0) from lesson_progress p
                    where p.learner_id = e.learner_id and p.course_id = e.course_id))
          order by e.enrolled_at, e.course_id), '[]'::json)
     from enrollments e where e.learner_id = :id) as enrollments,
  (select coalesce(json_agg(json_build_array(lesson_id, ${MS('completed_at')})), '[]'::json)
     from lesson_progress where learner_id = :id and completed_at is not null) as lessons,
  (select coalesce(json_agg(json_build_array(badge_id, ${MS('awarded_at')}) order by awarded_at, badge_id), '[]'::json)
     from badge_awards where learner_id = :id) as badges,
  (select coalesce(json_agg(json_build_array(id, amount, reason, source_id, ${MS('occurred_at')})), '[]'::json)
     from (select * from xp_transactions where learner_id = :id order by occurred_at desc, id desc limit ${RECENT_XP_ROWS}) r) as recent,
  (select coalesce(json_agg(json_build_array(quiz_id, attempts, best, ${MS('passed_at')})), '[]'::json)
     from (select quiz_id, max(attempt) as attempts, max(score) as best,
                  (array_agg(attempted_at order by attempt) filter (where passed))[1] as passed_at
             from quiz_attempts where learner_id = :id group by quiz_id) q) as quizzes,
  (select coalesce(json_agg(json_build_array(lesson_id, watch_time_seconds, ${MS('updated_at')})), '[]'::json)
     from lesson_progress where learner_id = :id and watch_time_seconds > 0) as watched,
  (select count(*) from lesson_progress where learner_id = :id and completed_at is not null and video) as videos,
  (select coalesce(json_agg(d.day - date '1970-01-01'), '[]'::json) from activity_days d where d.learner_id = :id) as days,
  ${PERIOD_ROWS(':id')} as periods
`;

const AUDIT = `
select ids.id, l.epoch, l.version, l.total_xp, l.lessons_completed,
  (select coalesce(sum(amount), 0) from xp_transactions t where t.learner_id = ids.id) as ledger_xp,
  (select coalesce(json_agg(lesson_id order by lesson_id), '[]'::json)
     from lesson_progress p where p.learner_id = ids.id and p.completed_at is not null) as lessons,
  (select coalesce(json_agg(badge_id order by badge_id), '[]'::json) from badge_awards b where b.learner_id = ids.id) as badges,
  (select coalesce(json_object_agg(e.course_id, json_build_array(e.xp_earned,
            (select coalesce(sum(amount), 0) from xp_transactions t
              where t.learner_id = e.learner_id and t.course_id = e.course_id and t.reason in ${COURSE_REASONS}),
            e.quizzes_passed,
            ${PASSED_IN_COURSE},
            e.watch_seconds,
            (select coalesce(sum(p.watch_time_seconds), 0) from lesson_progress p
              where p.learner_id = e.learner_id and p.course_id = e.course_id),
            ${MS('e.completed_at')},
            (select c.code from certificates c where c.learner_id = e.learner_id and c.course_id = e.course_id))), '{}'::json)
     from enrollments e where e.learner_id = ids.id) as courses,
  (select coalesce(json_object_agg(q.quiz_id, json_build_array(q.attempts, q.best, q.passed, q.rows)), '{}'::json)
     from (select quiz_id, max(attempt) as attempts, max(score) as best, bool_or(passed) as passed, count(*) as rows
             from quiz_attempts a where a.learner_id = ids.id group by quiz_id) q) as quizzes,
  (select coalesce(json_object_agg(p.lesson_id, p.watch_time_seconds), '{}'::json)
     from lesson_progress p where p.learner_id = ids.id and p.watch_time_seconds > 0) as watched,
  (select count(*) from lesson_progress p where p.learner_id = ids.id and p.completed_at is not null and p.video) as videos,
  (select count(*) from activity_days d where d.learner_id = ids.id) as days,
  ${PERIOD_ROWS('ids.id')} as periods,
  coalesce(l.goal_targets, '') as goal_targets,
  (select coalesce(json_agg(json_build_array(g.day - date '1970-01-01', g.xp, g.lessons, g.watch_seconds, g.quizzes, g.targets, g.done) order by g.day desc), '[]'::json)
     from (select * from daily_goals where learner_id = ids.id order by day desc limit ${GOAL_DAYS}) g) as goal_days,
  (select coalesce(sum((done & 1) + ((done >> 1) & 1) + ((done >> 2) & 1) + ((done >> 3) & 1)), 0) from daily_goals where learner_id = ids.id) as goals_done
from unnest(:ids::text[]) as ids(id) left join learners l on l.id = ids.id`;

interface AuditRow {
  id: string;
  epoch: string | number | null;
  version: number | null;
  total_xp: string | number | null;
  lessons_completed: number | null;
  ledger_xp: string | number;
  lessons: string[];
  badges: string[];
  courses: Record<string, [string | number, string | number, number, string | number, number, string | number, number | null, string | null]>;
  quizzes: Record<string, [number, number, boolean, string | number]>;
  watched: Record<string, number>;
  videos: string | number;
  days: string | number;
  periods: PeriodRow[];
  goal_targets: string;
  goal_days: GoalDayRow[];
  goals_done: string | number;
}

type GoalDayRow = [number, string | number, number, string | number, number, number[], number];

function goalDayOf([day, xp, lessons, watch, quizzes, targets, done]: GoalDayRow): GoalDay {
  return {
    day: Number(day),
    xp: Number(xp),
    lessons: Number(lessons),
    watchSeconds: Number(watch),
    quizzes: Number(quizzes),
    targets: [Number(targets[0] ?? 0), Number(targets[1] ?? 0), Number(targets[2] ?? 0), Number(targets[3] ?? 0)],
    done: Number(done),
  };
}

/** A learner's durable record for verify: the snapshot, and the facts it must agree with. */
export interface DurableAudit {
  epoch: number;
  version: number;
  totalXp: number;
  lessonsCompleted: number;
  /** Sum of the ledger. */
  ledgerXp: number;
  /** Completed lessons (progress rows), sorted. */
  lessons: string[];
  /** Badges held, sorted. */
  badges: string[];
  /**
   * Per enrolled course: the snapshot's course XP and the ledger's, its quizzes passed and the
   * attempts', its watched seconds and the progress rows' sum.
   */
  courses: Map<
    string,
    {
      xpEarned: number;
      ledgerXp: number;
      quizzesPassed: number;
      passedQuizzes: number;
      watchSeconds: number;
      watchedSeconds: number;
      /** The enrollment's completedAt (ms) and the certificate issued for it. */
      completedAt: number | null;
      certificate: string | null;
    }
  >;
  /** Per quiz attempted, from the attempt rows: the last attempt's number, the best score, whether passed, and the row count. */
  quizzes: Map<string, { attempts: number; best: number; passed: boolean; rows: number }>;
  /** Per lesson watched: its watched seconds (progress rows). */
  watched: Map<string, number>;
  /** Completed progress rows of VIDEO lessons. */
  videosCompleted: number;
  /** The learner's active days (activity_days rows). */
  activeDays: number;
  /** Standing goal targets, the newest GOAL_DAYS days toward goals (newest first), and goals completed in all (daily_goals). */
  goalTargets: string;
  goalDays: GoalDay[];
  goalsCompleted: number;
  /** The ledger's period scores of every board period retained at the audit's time (periodKey -> scores). */
  periods: Map<string, PeriodScores>;
  /** The oldest period of each kind a learner's hash keeps at the audit's time: the hash must hold these and later ones. */
  periodsKeptFrom: Record<PeriodKind, string>;
}

interface LoadRow {
  learner: { xp: string | number; lc: number; xat: number | null; v: number; dn: string | null; tzh: string | null; gt: string | null; gtd: number | null } | null;
  goal_days: GoalDayRow[];
  goals_done: string | number;
  enrollments: { c: string; i: string; eat: number; x: string | number; xat: number | null; ec: number | null; crt: string | null; v: number; cc: number; cq: number; cw: string | number }[];
  lessons: [string, number][];
  badges: [string, number][];
  recent: [string, string | number, string, string | null, number][];
  quizzes: [string, number, number, number | null][];
  watched: [string, number, number][];
  videos: string | number;
  /** Active days as UTC day numbers. */
  days: number[];
  periods: PeriodRow[];
}

export interface LearnerRepositoryOptions {
  /** How long a finished board period still takes late events (BOARD_PERIOD_GRACE_MS): which periods a loaded learner keeps. */
  boardPeriodGraceMs: number;
  /** The clock that says which periods are open (the app's). */
  clock: Clock;
}

/** Learners' durable record: what hydration and rebuilds read back, and the ledger's pages. */
export class LearnerRepository {
  constructor(
    private readonly orm: Orm,
    private readonly options: LearnerRepositoryOptions,
  ) {}

  private knex(): Knex {
    return this.orm.em.getKnex();
  }

  /** A learner's state as Postgres holds it, or null when Postgres has never seen them. */
  async load(learnerId: string): Promise<LearnerState | null> {
    const kept = keptPeriodsFrom(this.options.clock.now(), this.options.boardPeriodGraceMs);
    const res = (await this.knex().raw(LOAD_LEARNER, { id: learnerId, from: periodRowsFrom(kept) })) as { rows: LoadRow[] };
    const row = res.rows[0]!;
    if (!row.learner && row.enrollments.length === 0) return null;
    const enrollments = new Map<string, EnrollmentState>(
      row.enrollments.map((e) => [
        e.c,
        {
          id: e.i,
          courseId: e.c,
          enrolledAt: ms(e.eat)!,
          xpEarned: Number(e.x),
          xpAt: ms(e.xat),
          lessonsCompleted: Number(e.cc),
          quizzesPassed: Number(e.cq),
          watchSeconds: Number(e.cw),
          completedAt: ms(e.ec),
          certificateCode: e.crt ?? null,
        },
      ]),
    );
    return {
      id: learnerId,
      totalXp: Number(row.learner?.xp ?? 0),
      version: Math.max(row.learner?.v ?? 0, ...row.enrollments.map((e) => e.v)),
      xpAt: ms(row.learner?.xat),
      lessonsCompleted: row.learner?.lc ?? row.lessons.length,
      lessons: new Map(row.lessons.map(([id, at]) => [id, ms(at)!])),
      enrollments,
      badges: new Map(row.badges.map(([id, at]) => [id, ms(at)!])),
      quizzes: new Map(row.quizzes.map(([id, attempts, best, passedAt]) => [id, { attempts: Number(attempts), bestScore: Number(best), passedAt: ms(passedAt) }])),
      watched: new Map(row.watched.map(([id, seconds, at]) => [id, { seconds: Number(seconds), at: ms(at)! }])),
      videosCompleted: Number(row.videos),
      activeDays: row.days.map(Number),
      displayName: row.learner?.dn ?? null,
      zoneHistory: row.learner?.tzh ?? '',
      goalTargets: row.learner?.gt ?? '',
      goalTargetsDay: row.learner?.gtd ?? 0,
      goalDays: row.goal_days.map(goalDayOf),
      goalsCompleted: Number(row.goals_done),
      recentXp: row.recent.map(([id, amount, reason, source, at]) => ({ id, amount: Number(amount), reason, sourceId: source, occurredAt: ms(at)! })),
      // The periods that can still change, as the learner's scripts keep them.
      periods: periodScoresOf(row.periods, (kind, key) => key >= kept[kind]),
    };
  }

  /** A learner's record of one learning day toward goals (daily_goals), or null. */
  async goalDay(learnerId: string, day: number): Promise<GoalDay | null> {
    const rows = (await this.knex()('daily_goals')
      .select('xp', 'lessons', 'watch_seconds', 'quizzes', 'targets', 'done')
      .where({ learner_id: learnerId, day: dayString(day) })) as { xp: string; lessons: number; watch_seconds: string; quizzes: number; targets: number[]; done: number }[];
    const r = rows[0];
    if (!r) return null;
    return {
      day,
      xp: Number(r.xp),
      lessons: r.lessons,
      watchSeconds: Number(r.watch_seconds),
      quizzes: r.quizzes,
      targets: [r.targets[0] ?? 0, r.targets[1] ?? 0, r.targets[2] ?? 0, r.targets[3] ?? 0],
      done: r.done,
    };
  }

  /** The certificate with this canonical code, or null. */
  async certificate(code: string): Promise<IssuedCertificate | null> {
    const rows = (await this.knex()('certificates')
      .select('code', 'learner_id', 'course_id', this.knex().raw(`${MS('issued_at')} as issued_ms`))
      .where('code', code)) as { code: string; learner_id: string; course_id: string; issued_ms: number }[];
    const r = rows[0];
    return r ? { code: r.code, learnerId: r.learner_id, courseId: r.course_id, issuedAt: Math.round(Number(r.issued_ms)) } : null;
  }

  /** One page of a learner's ledger, newest first, strictly after `after`. */
  async history(learnerId: string, limit: number, after: LedgerCursor | null): Promise<XpTransaction[]> {
    const k = this.knex();
    const q = k('xp_transactions')
      .select('id', 'amount', 'reason', 'source_id', k.raw(`${MS('occurred_at')} as occurred_ms`))
      .where('learner_id', learnerId)
      .orderBy([
        { column: 'occurred_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit);
    if (after) {
      q.andWhere((w) =>
        w
          .where('occurred_at', '<', new Date(after.occurredAt))
          .orWhere((x) => x.where('occurred_at', '=', new Date(after.occurredAt)).andWhere('id', '<', after.id)),
      );
    }
    const rows = (await q) as { id: string; amount: string | number; reason: string; source_id: string | null; occurred_ms: number }[];
    return rows.map((r) => ({ id: r.id, amount: Number(r.amount), reason: r.reason, sourceId: r.source_id, occurredAt: Math.round(Number(r.occurred_ms)) }));
  }

  /**
   * A learner's quiz attempts (of one quiz, or all), oldest first, at most `limit`, and how
   * many there are in all.
   */
  async quizAttempts(learnerId: string, quizId: string | null, limit: number, after: AttemptCursor | null = null): Promise<{ attempts: QuizAttemptRecord[]; total: number }> {
    const k = this.knex();
    // The total counts every row of the learner (or quiz), whatever the page: the caller compares
    // it with Redis's count to know whether some are still on their way (its read barrier).
    const all = k('quiz_attempts')
      .select('event_key', 'quiz_id', 'score', 'attempt', 'passed', 'attempted_at', k.raw('count(*) over () as total'))
      .where('learner_id', learnerId);
    if (quizId !== null) all.andWhere('quiz_id', quizId);
    const q = k
      .from(all.as('a'))
      .select('event_key', 'quiz_id', 'score', 'attempt', 'passed', k.raw(`${MS('attempted_at')} as attempted_ms`), 'total')
      .orderBy([
        { column: 'attempted_at', order: 'asc' },
        { column: 'quiz_id', order: 'asc' },
        { column: 'attempt', order: 'asc' },
      ])
      .limit(Math.max(1, limit));
    if (after) q.whereRaw('(attempted_at, quiz_id, attempt) > (?, ?, ?)', [new Date(after.attemptedAt), after.quizId, after.attemptNumber]);
    const rows = (await q) as { event_key: string; quiz_id: string; score: number; attempt: number; passed: boolean; attempted_ms: number; total: string | number }[];
    let total = Number(rows[0]?.total ?? 0);
    if (rows.length === 0 && after) {
      // Past the end of the chart: the window saw no row, so count apart.
      const c = k('quiz_attempts').count('* as n').where('learner_id', learnerId);
      if (quizId !== null) c.andWhere('quiz_id', quizId);
      total = Number(((await c) as { n: string }[])[0]!.n);
    }
    return {
      attempts: rows.slice(0, limit).map((r) => ({
        id: r.event_key,
        quizId: r.quiz_id,
        score: r.score,
        attemptNumber: r.attempt,
        passed: r.passed,
        attemptedAt: Math.round(Number(r.attempted_ms)),
      })),
      total,
    };
  }


  /** The outbox entries of a learner's events with these caller ids (the durable dedupe record). */
  async eventsByClientId(learnerId: string, clientIds: readonly string[]): Promise<Map<string, unknown>> {
    if (clientIds.length === 0) return new Map();
    const rows = (await this.knex()('learner_events').select('client_id', 'payload').where('learner_id', learnerId).whereIn('client_id', clientIds as string[])) as {
      client_id: string;
      payload: unknown;
    }[];
    return new Map(rows.map((r) => [r.client_id, r.payload]));
  }

  /**
   * Set a learner's snapshot (total XP, when it was reached, lessons completed) and each
   * enrollment's course XP and quizzes passed from the durable facts they summarise: the
   * ledger, the progress rows and the quiz attempts. For a learner whose snapshots came from a
   * Redis that was behind (LearnerRepair).
   * Epochs and versions are kept: the rebuilt hash starts a newer epoch anyway.
   */
  async recomputeFromLedger(learnerId: string): Promise<void> {
    await this.knex().transaction(async (trx) => {
      await trx.raw(
        `update learners l set
           total_xp = coalesce((select sum(amount) from xp_transactions t where t.learner_id = l.id), 0),
           xp_reached_at = (select max(occurred_at) from xp_transactions t where t.learner_id = l.id),
           lessons_completed = (select count(*) from lesson_progress p where p.learner_id = l.id and p.completed_at is not null),
           updated_at = now()
         where l.id = :id`,
        { id: learnerId },
      );
      await trx.raw(
        `update enrollments e set
           xp_earned = coalesce((select sum(amount) from xp_transactions t
                                  where t.learner_id = e.learner_id and t.course_id = e.course_id and t.reason in ${COURSE_REASONS}), 0),
           xp_reached_at = (select max(occurred_at) from xp_transactions t
                             where t.learner_id = e.learner_id and t.course_id = e.course_id and t.reason in ${COURSE_REASONS}),
           quizzes_passed = ${PASSED_IN_COURSE},
           watch_seconds = (select coalesce(sum(p.watch_time_seconds), 0) from lesson_progress p
                             where p.learner_id = e.learner_id and p.course_id = e.course_id),
           completed_at = coalesce((select c.issued_at from certificates c
                                     where c.learner_id = e.learner_id and c.course_id = e.course_id), e.completed_at)
         where e.learner_id = :id`,
        { id: learnerId },
      );
    });
  }

  /**
   * What the durable record says of each learner, snapshot and facts side by side (verify):
   * null for a learner Postgres has never seen.
   */
  async audit(learnerIds: readonly string[]): Promise<Map<string, DurableAudit | null>> {
    if (learnerIds.length === 0) return new Map();
    const now = this.options.clock.now();
    const kept = keptPeriodsFrom(now, this.options.boardPeriodGraceMs);
    const retainedFrom = Object.fromEntries(PERIOD_KINDS.map((k) => [k, oldestRetainedPeriod(k, now)])) as Record<PeriodKind, string>;
    const res = (await this.knex().raw(AUDIT, { ids: learnerIds as string[], from: periodRowsFrom(retainedFrom) })) as { rows: AuditRow[] };
    const out = new Map<string, DurableAudit | null>(learnerIds.map((id) => [id, null]));
    for (const r of res.rows) {
      if (r.version === null && Object.keys(r.courses).length === 0) continue;
      out.set(r.id, {
        epoch: Number(r.epoch ?? 0),
        version: Number(r.version ?? 0),
        totalXp: Number(r.total_xp ?? 0),
        lessonsCompleted: Number(r.lessons_completed ?? 0),
        ledgerXp: Number(r.ledger_xp),
        lessons: r.lessons,
        badges: r.badges,
        courses: new Map(
          Object.entries(r.courses).map(([c, [xp, ledger, qp, passed, cw, watched, completedAt, certificate]]) => [
            c,
            {
              xpEarned: Number(xp),
              ledgerXp: Number(ledger),
              quizzesPassed: Number(qp),
              passedQuizzes: Number(passed),
              watchSeconds: Number(cw),
              watchedSeconds: Number(watched),
              completedAt: ms(completedAt),
              certificate,
            },
          ]),
        ),
        quizzes: new Map(Object.entries(r.quizzes).map(([q, [attempts, best, passed, rows]]) => [q, { attempts: Number(attempts), best: Number(best), passed, rows: Number(rows) }])),
        watched: new Map(Object.entries(r.watched).map(([l, seconds]) => [l, Number(seconds)])),
        videosCompleted: Number(r.videos),
        activeDays: Number(r.days),
        goalTargets: r.goal_targets,
        goalDays: r.goal_days.map(goalDayOf),
        goalsCompleted: Number(r.goals_done),
        periods: periodScoresOf(r.periods, (_kind, key) => isPeriodRetained(key, now)),
        periodsKeptFrom: kept,
      });
    }
    return out;
  }

  /** Sum of a learner's ledger (tests and audits). */
  async ledgerTotal(learnerId: string): Promise<number> {
    const row = await this.knex()('xp_transactions').where('learner_id', learnerId).sum<{ total: string | null }[]>('amount as total');
    return Number(row[0]?.total ?? 0);
  }

  /** Every learner id, in pages (rebuilds). */
  async *learnerIds(pageSize = 1000): AsyncGenerator<string[]> {
    let last = '';
    for (;;) {
      const rows = (await this.knex()
        .select('id')
        .from(this.knex().select('id').from('learners').union((u) => u.select('learner_id as id').from('enrollments')).as('ids'))
        .where('id', '>', last)
        .orderBy('id')
        .limit(pageSize)) as { id: string }[];
      if (rows.length === 0) return;
      yield rows.map((r) => r.id);
      last = rows[rows.length - 1]!.id;
    }
  }

  /** Number of learners Postgres knows (rebuild progress). */
  async countLearners(): Promise<number> {
    const r = await this.knex().raw<{ rows: { n: number }[] }>(
      'select count(*)::int as n from (select id from learners union select learner_id from enrollments) ids',
    );
    return r.rows[0]!.n;
  }
}
