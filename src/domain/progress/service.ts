import type { Streak } from '../engagement/streak';
import type { Badge, Course } from '../catalog/types';
import { BadInput, NotFound } from '../errors';
import { normaliseCertificateCode, type IssuedCertificate } from './certificates';
import { inEnrollmentOrder } from './lessons';
import { topicMastery, type TopicMastery } from './rules';
import type { CatalogService } from '../catalog/service';
import type { PreparedEvent } from '../events/prepare';
import type { EventService } from '../events/service';
import { decodeAttemptCursor, totalBefore, type AttemptCursor, type EventEffects, type QuizAttemptRecord } from '../events/types';
import type { Catalog } from '../catalog/types';
import type { EnrollmentState } from '../learners/state';
import { levelOf } from '../levels/rules';
import type { LearnerReads } from '../ports';

/** A badge unlocked by a change. */
export interface BadgeAwarded {
  badge: Badge;
  awardedAt: number;
}

export interface LessonCompletion {
  learnerId: string;
  lessonId: string;
  courseId: string;
  xpAwarded: number;
  totalXp: number;
  level: number;
  leveledUp: boolean;
  badgesUnlocked: BadgeAwarded[];
  enrollment: EnrollmentState;
  /** The certificate this completion issued by completing the course; null otherwise. */
  certificate: IssuedCertificate | null;
  /** The learner's streak after it; null when answering a repeat (read it fresh). */
  streak: Streak | null;
}

/** What `recordWatchTime` answers (WatchProgress). */
export interface WatchProgress {
  learnerId: string;
  lessonId: string;
  /** The lesson's watched seconds in all, after the call. */
  watchTimeSeconds: number;
  /** Whether the lesson is completed (by this call or before). */
  completed: boolean;
  /** The completion, when this call completed the lesson (reached 90% of a video). */
  completion: LessonCompletion | null;
}

/** What `submitQuizAttempt` answers (QuizResult). */
export interface QuizResult {
  learnerId: string;
  attempt: QuizAttemptRecord;
  /** The quiz's XP on the first pass; 0 otherwise (badge XP is in `badgesUnlocked`). */
  xpAwarded: number;
  totalXp: number;
  level: number;
  badgesUnlocked: BadgeAwarded[];
  /** The certificate this attempt issued by completing the course (the last quiz passed); null otherwise. */
  certificate: IssuedCertificate | null;
}

export interface ProgressDeps {
  events: EventService;
  learners: LearnerReads;
  catalog: CatalogService;
}

/**
 * Enrollment and lesson completion, as events on the one write path. The request does only
 * the learner step (its script pays XP and awards badges atomically); boards, pushes and
 * Postgres follow from the outbox.
 */
export class ProgressService {
  constructor(private readonly deps: ProgressDeps) {}

  /**
   * Enroll a learner in a course, once. With `eventId`, a retry answers the first result.
   * @throws NotFound, AlreadyEnrolled, Unavailable, BadInput
   */
  async enroll(learnerId: string, courseId: string, eventId?: string | null): Promise<{ learnerId: string; enrollment: EnrollmentState }> {
    const { events, learners } = this.deps;
    const done = await events.applyOne(events.build('ENROLLED', learnerId, { courseId }, eventId));
    const enrollment = done.effects.enrollment ?? (await learners.enrollment(learnerId, courseId));
    if (!enrollment) throw new Error(`Enrollment of ${learnerId} in ${courseId} vanished after it was made`);
    return { learnerId, enrollment };
  }

  /**
   * Complete a lesson: pays its catalog XP once and any badges that became due, in one atomic
   * step. With `eventId`, a retry answers the first call's result (same xpAwarded, same badges).
   * @throws NotFound, NotEnrolled, AlreadyCompleted, Unavailable, BadInput
   */
  async completeLesson(learnerId: string, lessonId: string, eventId?: string | null): Promise<LessonCompletion> {
    const { events } = this.deps;
    const done = await events.applyOne(events.build('LESSON_COMPLETED', learnerId, { lessonId }, eventId));
    return this.completionOf(learnerId, lessonId, done);
  }

  /**
   * Add watched seconds to a lesson (1 up to its duration, or 4 h without one). A VIDEO lesson
   * completes itself, once, when its total reaches 90% of its duration: the same completion as
   * completeLesson's (one payment whichever comes first). With `eventId`, a retry answers the
   * first call's result.
   * @throws NotFound, NotEnrolled, Unavailable, BadInput (`seconds` out of bounds)
   */
  async recordWatchTime(learnerId: string, lessonId: string, seconds: number, eventId?: string | null): Promise<WatchProgress> {
    const { events } = this.deps;
    const done = await events.applyOne(events.build('WATCHED', learnerId, { lessonId, seconds }, eventId));
    const watch = done.effects.watch;
    if (!watch) throw new Error(`Watch of ${learnerId} at ${lessonId} came back without its totals`);
    return {
      learnerId,
      lessonId,
      watchTimeSeconds: watch.seconds,
      completed: watch.completed,
      completion: watch.completedNow ? await this.completionOf(learnerId, lessonId, done) : null,
    };
  }

  /** A lesson's completion as completeLesson answers it, from the event that completed it. */
  private async completionOf(learnerId: string, lessonId: string, done: { effects: EventEffects; prepared: PreparedEvent }): Promise<LessonCompletion> {
    const { learners, catalog: catalogService } = this.deps;
    const courseId = (done.prepared as { courseId: string }).courseId;
    const catalog = catalogService.get();
    const before = levelOf(totalBefore(done.effects), catalog.levels);
    const after = levelOf(done.effects.totalXp, catalog.levels);
    const enrollment = done.effects.enrollment ?? (await learners.enrollment(learnerId, courseId));
    if (!enrollment) throw new Error(`Enrollment of ${learnerId} in ${courseId} vanished after a completion`);
    return {
      learnerId,
      lessonId,
      courseId,
      xpAwarded: done.effects.xpAwarded,
      totalXp: done.effects.totalXp,
      level: after.level,
      leveledUp: after.level > before.level,
      badgesUnlocked: badgesOf(done.effects, catalog),
      enrollment,
      certificate: certificateOf(learnerId, done.effects),
      streak: done.effects.streak ?? null,
    };
  }

  /**
   * Record a quiz attempt with its score: numbered per learner and quiz; the first passing
   * attempt pays the quiz's XP and any badges that became due, in one atomic step; retakes are
   * recorded and pay nothing. With `eventId`, a retry answers the first call's result.
   * @throws NotFound, NotEnrolled, Unavailable, BadInput (score not a whole number 0..100)
   */
  async submitQuizAttempt(learnerId: string, quizId: string, score: number, eventId?: string | null): Promise<QuizResult> {
    const { events, catalog: catalogService } = this.deps;
    const done = await events.applyOne(events.build('QUIZ_ATTEMPTED', learnerId, { quizId, score }, eventId));
    const attempt = done.effects.attempt;
    if (!attempt) throw new Error(`Quiz attempt of ${learnerId} at ${quizId} came back without its attempt`);
    const catalog = catalogService.get();
    return {
      learnerId,
      attempt,
      xpAwarded: done.effects.xpAwarded,
      totalXp: done.effects.totalXp,
      level: levelOf(done.effects.totalXp, catalog.levels).level,
      badgesUnlocked: badgesOf(done.effects, catalog),
      certificate: certificateOf(learnerId, done.effects),
    };
  }

  /**
   * A learner's quiz attempts (of one quiz, or all), oldest first, including the ones not yet
   * written behind.
   */
  /**
   * Public verification of a certificate code. Codes are read leniently (lower case, spaces,
   * the look-alike letters; see normaliseCertificateCode); what cannot be a code is not found,
   * without asking any store. A certificate is visible here once written behind (about 100 ms
   * after the completing event); the learner's own `certificates` show it at once.
   */
  async certificate(code: string): Promise<IssuedCertificate | null> {
    const canonical = normaliseCertificateCode(code);
    return canonical === null ? null : this.deps.learners.certificate(canonical);
  }

  /**
   * A page of the learner's quiz attempts (of one quiz, or all), oldest first, after `after`
   * (a QuizAttempt.cursor), including the ones not yet written behind.
   * @throws BadInput for a cursor this API did not hand out
   */
  quizAttempts(learnerId: string, quizId: string | null, first: number, after: string | null = null): Promise<QuizAttemptRecord[]> {
    let cursor: AttemptCursor | null = null;
    if (after !== null) {
      cursor = decodeAttemptCursor(after);
      if (cursor === null) throw new BadInput('That cursor is not one this API handed out.', 'after');
    }
    return this.deps.learners.quizAttempts(learnerId, quizId, first, cursor);
  }

  /**
   * Mastery per module (see `topicMastery` in rules.ts) of one course, or of every course the
   * learner is enrolled in (in enrollment order), from one read of the learner's lessons and
   * best scores. A course the learner is not enrolled in reads as nothing done yet.
   * `enrolled` reads the learner's enrollments (the request's loader, shared with other fields).
   * @throws NotFound for an unknown course
   */
  async topicMastery(learnerId: string, courseId: string | null, enrolled: () => Promise<readonly EnrollmentState[]>): Promise<TopicMastery[]> {
    const catalog = this.deps.catalog.get();
    let courses: Course[];
    if (courseId !== null) {
      const course = catalog.course(courseId);
      if (!course) throw new NotFound('course', courseId);
      courses = [course];
    } else {
      courses = inEnrollmentOrder(await enrolled()).flatMap((e) => catalog.course(e.courseId) ?? []);
    }
    const modules = courses.flatMap((c) => c.modules);
    const lessonIds = modules.flatMap((m) => m.lessons.map((l) => l.id));
    const quizIds = modules.flatMap((m) => m.quizzes.map((q) => q.id));
    if (lessonIds.length === 0 && quizIds.length === 0) return courses.flatMap((c) => topicMastery(c, EMPTY_FACTS));
    const facts = await this.deps.learners.lessonQuizFacts(learnerId, lessonIds, quizIds);
    return courses.flatMap((c) => topicMastery(c, facts));
  }
}

const EMPTY_FACTS = { completedLessons: new Set<string>(), bestScores: new Map<string, number>() };

/** The badges an event unlocked, as the catalog knows them (badges removed since are left out). */
function badgesOf(effects: EventEffects, catalog: Catalog): BadgeAwarded[] {
  return effects.badges
    .map((b) => ({ badge: catalog.badge(b.badgeId), awardedAt: b.awardedAt }))
    .filter((b): b is BadgeAwarded => b.badge !== undefined);
}

/** The certificate an event issued, if it completed a course. */
function certificateOf(learnerId: string, effects: EventEffects): IssuedCertificate | null {
  const c = effects.certificate;
  return c ? { code: c.code, learnerId, courseId: c.courseId, issuedAt: c.issuedAt } : null;
}
