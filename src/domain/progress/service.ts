import type { Badge } from '../catalog/types';
import type { CatalogService } from '../catalog/service';
import type { EventService } from '../events/service';
import { totalBefore } from '../events/types';
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
    const { events, learners, catalog: catalogService } = this.deps;
    const done = await events.applyOne(events.build('LESSON_COMPLETED', learnerId, { lessonId }, eventId));
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
      badgesUnlocked: done.effects.badges
        .map((b) => ({ badge: catalog.badge(b.badgeId), awardedAt: b.awardedAt }))
        .filter((b): b is BadgeAwarded => b.badge !== undefined),
      enrollment,
    };
  }
}
