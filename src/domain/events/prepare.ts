import type { BadgeCandidates } from '../badges/compile';
import type { Catalog } from '../catalog/types';
import { BadInput, NotFound, quoted } from '../errors';
import { maxWatchSeconds, maxWatchTotal, watchThreshold } from '../progress/rules';
import type { LearningEvent } from './types';

/** An event with what the catalog says about it, ready for its script. */
export type PreparedEvent =
  | {
      event: LearningEvent<'ENROLLED'>;
      courseId: string;
      /** The badges a new active day may unlock (Catalog.dayCandidates). */
      badges: BadgeCandidates;
    }
  | {
      event: LearningEvent<'LESSON_COMPLETED'>;
      lessonId: string;
      courseId: string;
      xp: number;
      /** A VIDEO lesson (counted in `vc`, videos completed). */
      video: boolean;
      /** The course's lessons and quizzes (Catalog.courseShape): completing the lesson may complete it. */
      courseShape: string;
      badges: BadgeCandidates;
    }
  | {
      event: LearningEvent<'WATCHED'>;
      lessonId: string;
      courseId: string;
      seconds: number;
      /** Add only what is missing for the lesson's total to reach `seconds` (VIDEO_COMPLETED). */
      toEnd: boolean;
      /** Watch total at which the lesson completes: 90% of a VIDEO lesson's duration; 0 = never by watching. */
      threshold: number;
      /** The most the lesson's watch total can reach (maxWatchTotal). */
      cap: number;
      xp: number;
      video: boolean;
      courseShape: string;
      badges: BadgeCandidates;
    }
  | {
      event: LearningEvent<'QUIZ_ATTEMPTED'>;
      quizId: string;
      courseId: string;
      score: number;
      /** The lowest passing score, from the catalog. */
      passScore: number;
      /** XP the first pass pays, from the catalog. */
      xp: number;
      /** The course's lessons and quizzes: the first pass may complete it. */
      courseShape: string;
      badges: BadgeCandidates;
    }
  | {
      event: LearningEvent<'ACCESSED'>;
      lessonId: string;
      courseId: string;
      /** The badges a new active day may unlock (Catalog.dayCandidates). */
      badges: BadgeCandidates;
    }
  | {
      event: LearningEvent<'LOGGED_IN'>;
      /** The badges a new active day may unlock (Catalog.dayCandidates). */
      badges: BadgeCandidates;
    }
  | { event: LearningEvent<'PROFILE_UPDATED'> }
  | {
      event: LearningEvent<'GOAL_SET'>;
      /** A goal completed at once pays its bonus: the badges reading XP or goals completed. */
      badges: BadgeCandidates;
    };

/**
 * Resolve an event against the catalog snapshot: XP comes from the catalog, never from the
 * caller, and the badges it may unlock are picked here. Pure.
 * @throws NotFound for an unknown course, lesson or quiz
 */
export function prepareEvent(event: LearningEvent, catalog: Catalog): PreparedEvent {
  switch (event.kind) {
    case 'ENROLLED': {
      const { courseId } = (event as LearningEvent<'ENROLLED'>).payload;
      if (!catalog.course(courseId)) throw new NotFound('course', courseId);
      return { event: event as LearningEvent<'ENROLLED'>, courseId, badges: catalog.dayCandidates() };
    }
    case 'LESSON_COMPLETED': {
      const { lessonId } = (event as LearningEvent<'LESSON_COMPLETED'>).payload;
      const lesson = catalog.lesson(lessonId);
      if (!lesson) throw new NotFound('lesson', lessonId);
      return {
        event: event as LearningEvent<'LESSON_COMPLETED'>,
        lessonId,
        courseId: lesson.courseId,
        xp: lesson.xpReward,
        video: lesson.kind === 'VIDEO',
        courseShape: catalog.courseShape(lesson.courseId),
        badges: catalog.lessonCandidates(lesson.courseId),
      };
    }
    case 'WATCHED': {
      const { lessonId, seconds, toEnd } = (event as LearningEvent<'WATCHED'>).payload;
      const lesson = catalog.lesson(lessonId);
      if (!lesson) throw new NotFound('lesson', lessonId);
      const max = maxWatchSeconds(lesson);
      if (seconds > max) throw new BadInput(`Invalid seconds: at most ${max} for lesson "${quoted(lessonId)}" (its duration, or 4 hours without one).`, 'seconds');
      const video = lesson.kind === 'VIDEO';
      const d = lesson.durationSeconds;
      return {
        event: event as LearningEvent<'WATCHED'>,
        lessonId,
        courseId: lesson.courseId,
        seconds,
        toEnd: toEnd === true,
        threshold: video && d !== null && d > 0 ? watchThreshold(d) : 0,
        cap: maxWatchTotal(lesson),
        xp: lesson.xpReward,
        video,
        courseShape: catalog.courseShape(lesson.courseId),
        badges: catalog.watchCandidates(lesson.courseId),
      };
    }
    case 'QUIZ_ATTEMPTED': {
      const { quizId, score } = (event as LearningEvent<'QUIZ_ATTEMPTED'>).payload;
      const quiz = catalog.quiz(quizId);
      if (!quiz) throw new NotFound('quiz', quizId);
      return {
        event: event as LearningEvent<'QUIZ_ATTEMPTED'>,
        quizId,
        courseId: quiz.courseId,
        score,
        passScore: quiz.passScore,
        xp: quiz.xpReward,
        courseShape: catalog.courseShape(quiz.courseId),
        badges: catalog.quizCandidates(quizId),
      };
    }
    case 'ACCESSED': {
      const { lessonId } = (event as LearningEvent<'ACCESSED'>).payload;
      const lesson = catalog.lesson(lessonId);
      if (!lesson) throw new NotFound('lesson', lessonId);
      return { event: event as LearningEvent<'ACCESSED'>, lessonId, courseId: lesson.courseId, badges: catalog.dayCandidates() };
    }
    case 'LOGGED_IN':
      return { event: event as LearningEvent<'LOGGED_IN'>, badges: catalog.dayCandidates() };
    case 'PROFILE_UPDATED':
      return { event: event as LearningEvent<'PROFILE_UPDATED'> };
    case 'GOAL_SET':
      return { event: event as LearningEvent<'GOAL_SET'>, badges: catalog.dayCandidates() };
  }
}
