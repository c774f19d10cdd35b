import { dayString, decodeZoneHistory } from '../../../domain/engagement/zones';
import { ledgerIdOf, newer, periodFlagsOf, type OutboxEntry } from '../entry';

/**
 * The rows a batch of outbox entries becomes, by table, keyed so that a batch holds one row
 * per key: the newest snapshot of a learner or enrollment (by version), and each ledger row,
 * progress row, badge award and event once. Handlers (one per entry kind) fill it.
 */
export interface LearnerSnapshotRow {
  id: string;
  total_xp: number;
  lessons_completed: number;
  xp_reached_at: Date | null;
  epoch: number;
  version: number;
}

export interface ProfileRow {
  id: string;
  display_name: string | null;
  time_zone: string;
  zone_history: string;
  epoch: number;
  version: number;
}

export interface GoalDayRow {
  learner_id: string;
  day: string;
  xp: number;
  lessons: number;
  watch_seconds: number;
  quizzes: number;
  targets: number[];
  done: number;
  epoch: number;
  version: number;
}

export interface GoalTargetsRow {
  id: string;
  goal_targets: string;
  goal_targets_day: number;
  epoch: number;
  version: number;
}

export interface EnrollmentRow {
  id: string;
  learner_id: string;
  course_id: string;
  enrolled_at: Date;
  completed_at: Date | null;
  xp_earned: number;
  xp_reached_at: Date | null;
  quizzes_passed: number;
  watch_seconds: number;
  epoch: number;
  version: number;
}

export interface QuizAttemptRow {
  learner_id: string;
  quiz_id: string;
  attempt: number;
  course_id: string;
  score: number;
  passed: boolean;
  attempted_at: Date;
  event_key: string;
}

/**
 * A learner's row of one lesson: its completion (the first one counts) and its watch total
 * (the newest by (watch_epoch, watch_version); 0 at (0, 0) when the batch only completed it).
 */
export interface LessonProgressRow {
  learner_id: string;
  lesson_id: string;
  course_id: string;
  completed_at: Date | null;
  /** A VIDEO lesson when completed. */
  video: boolean;
  watch_time_seconds: number;
  watch_epoch: number;
  watch_version: number;
  /** The latest of the completion and the last watch. */
  updated_at: Date;
}

export interface LedgerRow {
  id: string;
  learner_id: string;
  amount: number;
  reason: string;
  source_id: string;
  course_id: string | null;
  occurred_at: Date;
  /** The board periods the award counted in (PERIOD_FLAGS). */
  periods: number;
}

export interface BadgeAwardRow {
  learner_id: string;
  badge_id: string;
  awarded_at: Date;
}

export interface CertificateRow {
  code: string;
  learner_id: string;
  course_id: string;
  issued_at: Date;
  event_key: string;
}

export interface EventRow {
  key: string;
  learner_id: string;
  client_id: string | null;
  kind: string;
  occurred_at: Date;
  recorded_at: Date;
  payload: string;
}

const dateOrNull = (ms: number): Date | null => (ms > 0 ? new Date(ms) : null);
const pair = (a: string, b: string) => `${a}\u0000${b}`;

export class RowSet {
  readonly learners = new Map<string, LearnerSnapshotRow>();
  readonly enrollments = new Map<string, EnrollmentRow>();
  readonly progress = new Map<string, LessonProgressRow>();
  readonly attempts = new Map<string, QuizAttemptRow>();
  readonly ledger = new Map<string, LedgerRow>();
  readonly awards = new Map<string, BadgeAwardRow>();
  readonly events = new Map<string, EventRow>();
  readonly certificates = new Map<string, CertificateRow>();
  readonly profiles = new Map<string, ProfileRow>();
  readonly goalDays = new Map<string, GoalDayRow>();
  readonly goalTargets = new Map<string, GoalTargetsRow>();

  /** Standing goal targets after a GOAL_SET: the newest per learner. */
  goalTargetsOf(learnerId: string, epoch: number, version: number, targets: string, fromDay: number): void {
    const prev = this.goalTargets.get(learnerId);
    if (prev && !newer({ epoch, version }, prev)) return;
    this.goalTargets.set(learnerId, { id: learnerId, goal_targets: targets, goal_targets_day: fromDay, epoch, version });
  }

  /** A profile change: the newest per learner, by (epoch, version). */
  profile(learnerId: string, epoch: number, version: number, displayName: string, zoneHistory: string): void {
    const prev = this.profiles.get(learnerId);
    if (prev && !newer({ epoch, version }, prev)) return;
    const history = decodeZoneHistory(zoneHistory);
    this.profiles.set(learnerId, {
      id: learnerId,
      display_name: displayName === '' ? null : displayName,
      time_zone: history.length ? history[history.length - 1]![1] : 'UTC',
      zone_history: zoneHistory,
      epoch,
      version,
    });
  }

  /** What every entry writes: the learner's snapshot, the event log row, and the badges it unlocked. */
  common(entry: OutboxEntry): void {
    const d = entry.data;
    const prev = this.learners.get(d.l);
    if (!prev || newer({ epoch: d.ep, version: d.v }, prev)) {
      this.learners.set(d.l, { id: d.l, total_xp: d.s.xp, lessons_completed: d.s.lc, xp_reached_at: dateOrNull(d.s.xat), epoch: d.ep, version: d.v });
    }
    this.events.set(d.id, {
      key: d.id,
      learner_id: d.l,
      client_id: d.e === '' ? null : d.e,
      kind: d.k,
      occurred_at: new Date(d.oa),
      recorded_at: new Date(d.ra),
      payload: entry.json,
    });
    if (d.crt) {
      this.certificates.set(d.crt.code, { code: d.crt.code, learner_id: d.l, course_id: d.crt.c, issued_at: new Date(d.crt.at), event_key: d.id });
    }
    if (d.gl) {
      const key = pair(d.l, String(d.gl.d));
      const prev = this.goalDays.get(key);
      if (!prev || newer({ epoch: d.ep, version: d.v }, prev)) {
        const g = d.gl;
        this.goalDays.set(key, { learner_id: d.l, day: dayString(g.d), xp: g.x, lessons: g.l, watch_seconds: g.w, quizzes: g.q, targets: [...g.t], done: g.m, epoch: d.ep, version: d.v });
      }
    }
    for (const [kind, day, , , xp] of d.gd ?? []) {
      if (xp > 0) this.pay({ id: ledgerIdOf(d.id, `goal:${kind}`), learner_id: d.l, amount: xp, reason: 'goal_completed', source_id: `${kind}:${dayString(day)}`, course_id: null, occurred_at: new Date(d.oa), periods: periodFlagsOf(d) });
    }
    for (const [badgeId, xp, at] of d.aw ?? []) {
      this.awards.set(pair(d.l, badgeId), { learner_id: d.l, badge_id: badgeId, awarded_at: new Date(at) });
      if (xp > 0) this.pay({ id: ledgerIdOf(d.id, badgeId), learner_id: d.l, amount: xp, reason: 'badge_unlocked', source_id: badgeId, course_id: null, occurred_at: new Date(d.oa), periods: periodFlagsOf(d) });
    }
  }

  /** The enrollment's snapshot at the entry's epoch and version. */
  enrollment(
    learnerId: string,
    courseId: string,
    epoch: number,
    version: number,
    ce: { i: string; eat: number; x: number; xat: number; ec: number; cq?: number | undefined; cw?: number | undefined },
  ): void {
    const key = pair(learnerId, courseId);
    const prev = this.enrollments.get(key);
    if (prev && !newer({ epoch, version }, prev)) return;
    this.enrollments.set(key, {
      id: ce.i,
      learner_id: learnerId,
      course_id: courseId,
      enrolled_at: new Date(ce.eat),
      completed_at: dateOrNull(ce.ec),
      xp_earned: ce.x,
      xp_reached_at: dateOrNull(ce.xat),
      // Entries written before quizzes existed carry no count: nobody had passed one then.
      quizzes_passed: ce.cq ?? 0,
      // Likewise for watch time.
      watch_seconds: ce.cw ?? 0,
      epoch,
      version,
    });
  }

  /** A quiz attempt, once per (learner, quiz, attempt number). */
  quizAttempt(row: QuizAttemptRow): void {
    this.attempts.set(`${pair(row.learner_id, row.quiz_id)}\u0000${String(row.attempt).padStart(10, '0')}`, row);
  }

  /** A lesson completed at `at`: the first completion of a (learner, lesson) in the batch counts. */
  lessonCompleted(learnerId: string, lessonId: string, courseId: string, at: Date, video: boolean): void {
    const row = this.progressRow(learnerId, lessonId, courseId, at);
    if (row.completed_at === null || at < row.completed_at) {
      row.completed_at = at;
      row.video = video;
    }
  }

  /** A lesson's watch total at the entry's (epoch, version), last watched at `at`: the newest counts. */
  lessonWatched(learnerId: string, lessonId: string, courseId: string, seconds: number, epoch: number, version: number, at: Date): void {
    const row = this.progressRow(learnerId, lessonId, courseId, at);
    if (newer({ epoch, version }, { epoch: row.watch_epoch, version: row.watch_version })) {
      row.watch_time_seconds = seconds;
      row.watch_epoch = epoch;
      row.watch_version = version;
    }
  }

  private progressRow(learnerId: string, lessonId: string, courseId: string, at: Date): LessonProgressRow {
    const key = pair(learnerId, lessonId);
    let row = this.progress.get(key);
    if (!row) {
      row = { learner_id: learnerId, lesson_id: lessonId, course_id: courseId, completed_at: null, video: false, watch_time_seconds: 0, watch_epoch: 0, watch_version: 0, updated_at: at };
      this.progress.set(key, row);
    } else if (at > row.updated_at) row.updated_at = at;
    return row;
  }

  pay(row: LedgerRow): void {
    this.ledger.set(row.id, row);
  }
}
