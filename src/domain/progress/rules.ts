import type { Catalog, Course } from '../catalog/types';
import type { LearnerState } from '../learners/state';

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

/** Progress of `state` through `course`, counting only lessons the course holds now. Pure. */
export function courseProgress(course: Course, state: LearnerState): CourseProgress {
  let completedLessons = 0;
  for (const mod of course.modules) {
    for (const lesson of mod.lessons) if (state.lessons.has(lesson.id)) completedLessons += 1;
  }
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

/** Completed lessons that belong to `courseId` in the catalog now. Pure. */
export function lessonsCompletedIn(catalog: Catalog, state: LearnerState, courseId: string): number {
  let n = 0;
  for (const lesson of catalog.lessonsOf(courseId)) if (state.lessons.has(lesson.id)) n += 1;
  return n;
}
