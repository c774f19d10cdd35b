import type { Course } from '../catalog/types';
import type { EnrollmentState } from '../learners/state';

/** A learner's progress through one course. */
export interface CourseProgress {
  totalLessons: number;
  completedLessons: number;
  totalQuizzes: number;
  passedQuizzes: number;
  watchTimeSeconds: number;
  /** completedLessons / totalLessons x 100 */
  percentage: number;
  /** 0..1: half lessons, half quizzes (lessons only when the course has no quiz). */
  completionRate: number;
}

/**
 * Progress of an enrollment through `course`. Lessons count as completed in the course they
 * belonged to when completed; after an edit removes some, the count is capped at what the
 * course holds. Pure.
 */
export function courseProgress(course: Course, enrollment: EnrollmentState | undefined): CourseProgress {
  const completedLessons = Math.min(enrollment?.lessonsCompleted ?? 0, course.lessonCount);
  // Quiz attempts and watch time arrive with their own issue; until then nothing is passed or watched.
  const passedQuizzes = 0;
  const lessonShare = course.lessonCount === 0 ? 0 : completedLessons / course.lessonCount;
  const quizShare = course.quizCount === 0 ? 0 : passedQuizzes / course.quizCount;
  return {
    totalLessons: course.lessonCount,
    completedLessons,
    totalQuizzes: course.quizCount,
    passedQuizzes,
    watchTimeSeconds: 0,
    percentage: lessonShare * 100,
    completionRate: course.quizCount === 0 ? lessonShare : 0.5 * lessonShare + 0.5 * quizShare,
  };
}
