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

/** What a learner did in one course beyond lessons: distinct quizzes passed and seconds watched. */
export interface CourseFacts {
  passedQuizzes: number;
  watchTimeSeconds: number;
}

/**
 * Progress of an enrollment through `course`: `percentage` = completed lessons / lessons x 100;
 * `completionRate` = 0.5 x lessons share + 0.5 x quizzes-passed share, or the lessons share
 * alone when the course has no quiz (0 for a course with neither). Lessons and quizzes count in
 * the course they belonged to when done; after an edit removes some, the counts are capped at
 * what the course holds. `facts` default to nothing passed and nothing watched. Pure.
 */
export function courseProgress(
  course: Course,
  enrollment: EnrollmentState | undefined,
  facts: CourseFacts = { passedQuizzes: 0, watchTimeSeconds: 0 },
): CourseProgress {
  const completedLessons = Math.min(enrollment?.lessonsCompleted ?? 0, course.lessonCount);
  const passedQuizzes = Math.min(Math.max(0, facts.passedQuizzes), course.quizCount);
  const lessonShare = course.lessonCount === 0 ? 0 : completedLessons / course.lessonCount;
  const quizShare = course.quizCount === 0 ? 0 : passedQuizzes / course.quizCount;
  return {
    totalLessons: course.lessonCount,
    completedLessons,
    totalQuizzes: course.quizCount,
    passedQuizzes,
    watchTimeSeconds: facts.watchTimeSeconds,
    percentage: lessonShare * 100,
    completionRate: course.quizCount === 0 ? lessonShare : 0.5 * lessonShare + 0.5 * quizShare,
  };
}

/**
 * A course is complete when every lesson is completed and every quiz passed, and it holds at
 * least one lesson or quiz (an empty course is never complete). Counts above what the course
 * holds (lessons an edit removed) still complete it. Pure.
 */
export function courseComplete(
  course: Pick<Course, 'lessonCount' | 'quizCount'>,
  completedLessons: number,
  passedQuizzes: number,
): boolean {
  if (course.lessonCount + course.quizCount === 0) return false;
  return completedLessons >= course.lessonCount && passedQuizzes >= course.quizCount;
}

/** Seconds of watch time at which a video of `durationSeconds` completes: ceil(90% of it). Pure. */
export function watchThreshold(durationSeconds: number): number {
  // 9 x d / 10 rather than 0.9 x d: 0.9 x 70 is 63.00000000000001 in floating point, whose
  // ceiling would ask for 64 s instead of 63.
  return Math.ceil((9 * durationSeconds) / 10);
}

/**
 * True when watch time going from `before` to `after` seconds completes the lesson: a VIDEO
 * lesson with a positive duration whose sum crosses its threshold on this call
 * (`before < watchThreshold(d) <= after`), so it completes exactly once. Pure.
 */
export function watchCompletes(
  lesson: { kind: string; durationSeconds: number | null },
  before: number,
  after: number,
): boolean {
  const d = lesson.durationSeconds;
  if (lesson.kind !== 'VIDEO' || d === null || d <= 0) return false;
  const threshold = watchThreshold(d);
  return before < threshold && after >= threshold;
}

/** The bound on one `recordWatchTime` call for a lesson without a duration: 4 hours. */
export const MAX_WATCH_SECONDS_WITHOUT_DURATION = 4 * 60 * 60;

/**
 * Most seconds one `recordWatchTime` call may add for `lesson`: its duration, or 4 h
 * (14400 s) when it has none (null, or not positive). Pure.
 */
export function maxWatchSeconds(lesson: { durationSeconds: number | null }): number {
  const d = lesson.durationSeconds;
  return d !== null && d > 0 ? d : MAX_WATCH_SECONDS_WITHOUT_DURATION;
}

/** How many times over a lesson's watch time counts: rewatching counts, without end it would not. */
export const WATCH_TOTAL_FACTOR = 10;

/**
 * The most a learner's watch total of `lesson` can reach: 10 times `maxWatchSeconds` (so 10
 * full viewings; 40 h for a lesson without a duration). Watching past it is accepted and adds
 * nothing, so one learner's totals stay bounded (they are summed per course and per learner,
 * and written to Postgres). Pure.
 */
export function maxWatchTotal(lesson: { durationSeconds: number | null }): number {
  return WATCH_TOTAL_FACTOR * maxWatchSeconds(lesson);
}

/** Mean of each quiz's best score (0..100); null when no quiz was attempted. Pure. */
export function averageBestScore(bestScores: Iterable<number>): number | null {
  let sum = 0;
  let count = 0;
  for (const s of bestScores) {
    sum += s;
    count += 1;
  }
  return count === 0 ? null : sum / count;
}

/** How well a learner knows one module of a course. */
export interface TopicMastery {
  moduleId: string;
  title: string;
  /** 0..1: completed lessons of the module / its lessons (0 when it has none). */
  lessonCompletionRate: number;
  /** Mean best score (0..100) of the module's attempted quizzes; null when none was attempted. */
  averageQuizScore: number | null;
  /** 0..1 */
  mastery: number;
}

/**
 * Mastery of each module of `course`, in course order. For a module with L lessons and Q quizzes:
 *
 *   lessonCompletionRate = completed lessons / L            (0 when L = 0)
 *   averageQuizScore     = mean best score of attempted quizzes (null when none attempted)
 *   quizShare            = (Σ best scores of all Q quizzes) / (100 x Q), an unattempted quiz scoring 0
 *   mastery = 0.5 x lessonCompletionRate + 0.5 x quizShare   when L > 0 and Q > 0
 *           = lessonCompletionRate                            when Q = 0
 *           = quizShare                                       when L = 0 and Q > 0
 *           = 0                                               when the module has neither
 *
 * A module of quizzes only is weighed on its quizzes alone, as `courseProgress` weighs a course
 * without quizzes on its lessons alone; half-and-half would cap perfect scores at 0.5 there.
 *
 * `completedLessons` holds lesson ids, `bestScores` maps quiz id to its best score (0..100);
 * ids of other courses are ignored. Pure.
 */
export function topicMastery(
  course: Course,
  facts: { completedLessons: ReadonlySet<string>; bestScores: ReadonlyMap<string, number> },
): TopicMastery[] {
  return course.modules.map((mod) => {
    let done = 0;
    for (const lesson of mod.lessons) if (facts.completedLessons.has(lesson.id)) done += 1;
    const lessonCompletionRate = mod.lessons.length === 0 ? 0 : done / mod.lessons.length;
    const attempted: number[] = [];
    for (const quiz of mod.quizzes) {
      const best = facts.bestScores.get(quiz.id);
      if (best !== undefined) attempted.push(best);
    }
    const scoreSum = attempted.reduce((a, b) => a + b, 0);
    let mastery = lessonCompletionRate;
    if (mod.quizzes.length > 0) {
      const quizShare = scoreSum / (100 * mod.quizzes.length);
      mastery = mod.lessons.length === 0 ? quizShare : 0.5 * lessonCompletionRate + 0.5 * quizShare;
    }
    return {
      moduleId: mod.id,
      title: mod.title,
      lessonCompletionRate,
      averageQuizScore: averageBestScore(attempted),
      mastery,
    };
  });
}
