import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BadgeService, type BadgeAwarded } from '../badges/service';
import { BoardService } from '../boards/service';
import type { CatalogService } from '../catalog/service';
import { NotFound } from '../errors';
import type { LearnerEvent } from '../events';
import type { EnrollmentState, LearnerState } from '../learners/state';
import { levelOf } from '../levels/rules';
import type { Clock, EventPublisher, LearnerStore } from '../ports';

export interface LessonCompletion {
  lessonId: string;
  courseId: string;
  xpAwarded: number;
  totalXp: number;
  level: number;
  leveledUp: boolean;
  badgesUnlocked: BadgeAwarded[];
  state: LearnerState;
  enrollment: EnrollmentState;
}

export interface ProgressDeps {
  learners: LearnerStore;
  boards: BoardService;
  badges: BadgeService;
  catalog: CatalogService;
  publisher: EventPublisher;
  clock: Clock;
  log: Logger;
}

/** Enrollment and lesson completion: the core loop that pays XP, levels, badges and ranks. */
export class ProgressService {
  constructor(private readonly deps: ProgressDeps) {}

  /**
   * Enroll a learner in a course, once.
   * @throws NotFound, AlreadyEnrolled
   */
  async enroll(learnerId: string, courseId: string): Promise<{ state: LearnerState; enrollment: EnrollmentState }> {
    const { catalog, learners, clock } = this.deps;
    const snapshot = catalog.get();
    if (!snapshot.course(courseId)) throw new NotFound('course', courseId);
    const state = await learners.enroll(learnerId, courseId, randomUUID(), clock.now(), snapshot.needsFor(courseId));
    return { state, enrollment: state.enrollments.get(courseId)! };
  }

  /**
   * Complete a lesson: pays its catalog XP once, then badges that became due, then moves the
   * learner on the global and course boards and announces what happened.
   * @throws NotFound, NotEnrolled, AlreadyCompleted
   */
  async completeLesson(learnerId: string, lessonId: string): Promise<LessonCompletion> {
    const { catalog: catalogService, learners, badges, boards, clock } = this.deps;
    const catalog = catalogService.get();
    const lesson = catalog.lesson(lessonId);
    if (!lesson) throw new NotFound('lesson', lessonId);
    const now = clock.now();

    const needs = catalog.needsFor(lesson.courseId);
    const paid = await learners.completeLesson(learnerId, { id: lesson.id, courseId: lesson.courseId, xp: lesson.xpReward }, randomUUID(), now, needs);
    let state = paid;
    let awarded: BadgeAwarded[] = [];
    try {
      ({ state, awarded } = await badges.awardDue(state, catalog, now, needs));
    } catch (err) {
      // The lesson is complete and paid; a badge that failed is awarded on the next event.
      this.deps.log.error({ err, learnerId }, 'badge check failed after a lesson completion');
    }
    await boards.record(state, [lesson.courseId]);

    // The script's own total minus its own award is exactly where this learner stood before.
    const before = levelOf(paid.totalXp - lesson.xpReward, catalog.levels);
    const after = levelOf(state.totalXp, catalog.levels);
    await this.announce(state, lesson.xpReward, now, awarded, before.level < after.level ? after : null);

    return {
      lessonId: lesson.id,
      courseId: lesson.courseId,
      xpAwarded: lesson.xpReward,
      totalXp: state.totalXp,
      level: after.level,
      leveledUp: after.level > before.level,
      badgesUnlocked: awarded,
      state,
      enrollment: state.enrollments.get(lesson.courseId)!,
    };
  }

  private async announce(
    state: LearnerState,
    lessonXp: number,
    now: number,
    awarded: BadgeAwarded[],
    levelUp: { level: number; name: string | null } | null,
  ): Promise<void> {
    const events: LearnerEvent[] = [];
    let running = state.totalXp - awarded.reduce((s, a) => s + a.badge.xpReward, 0);
    if (lessonXp > 0) {
      events.push({ kind: 'xp_awarded', learnerId: state.id, amount: lessonXp, totalXp: running, reason: 'lesson_completed', occurredAt: now });
    }
    for (const a of awarded) {
      events.push({ kind: 'badge_unlocked', learnerId: state.id, badgeId: a.badge.id, awardedAt: a.awardedAt });
      if (a.badge.xpReward > 0) {
        running += a.badge.xpReward;
        events.push({ kind: 'xp_awarded', learnerId: state.id, amount: a.badge.xpReward, totalXp: running, reason: 'badge_unlocked', occurredAt: now });
      }
    }
    if (levelUp) events.push({ kind: 'level_up', learnerId: state.id, level: levelUp.level, name: levelUp.name, totalXp: state.totalXp });
    try {
      // Sent together; one connection keeps them in this order.
      await Promise.all(events.map((e) => this.deps.publisher.learnerEvent(e)));
    } catch (err) {
      // Pushes are best effort; the state change itself is already durable in the outbox.
      this.deps.log.warn({ err, learnerId: state.id }, 'could not announce learner events');
    }
  }
}
