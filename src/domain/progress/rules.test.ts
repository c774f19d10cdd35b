import { describe, expect, it } from 'vitest';
import { assembleCourse, type Lesson } from '../catalog/types';
import type { EnrollmentState } from '../learners/state';
import {
  averageBestScore,
  courseComplete,
  courseProgress,
  maxWatchSeconds,
  topicMastery,
  watchCompletes,
  watchThreshold,
} from './rules';

const lesson = (i: number): Lesson => ({ id: `l${i}`, courseId: 'c', moduleId: 'm', title: `L${i}`, kind: 'READING', durationSeconds: 60, xpReward: 10, position: i });
const quiz = { id: 'q1', courseId: 'c', moduleId: 'm', title: 'Q', passScore: 70, xpReward: 20, position: 0 };
const withQuiz = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [0, 1, 2, 3].map(lesson), quizzes: [quiz] }]);
const noQuiz = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [0, 1, 2, 3].map(lesson), quizzes: [] }]);
const enrolled = (lessonsCompleted: number): EnrollmentState => ({ id: 'e', courseId: 'c', enrolledAt: 0, xpEarned: 0, xpAt: null, lessonsCompleted, quizzesPassed: 0, watchSeconds: 0, completedAt: null, certificateCode: null });

describe('courseProgress', () => {
  it('weighs lessons and quizzes half and half when the course has quizzes', () => {
    expect(courseProgress(withQuiz, enrolled(2))).toEqual({
      totalLessons: 4,
      completedLessons: 2,
      totalQuizzes: 1,
      passedQuizzes: 0,
      watchTimeSeconds: 0,
      percentage: 50,
      completionRate: 0.25,
    });
  });

  it('counts lessons only when the course has no quiz', () => {
    expect(courseProgress(noQuiz, enrolled(3))).toMatchObject({ percentage: 75, completionRate: 0.75 });
  });

  it('never passes 100% after an edit removed lessons the learner had completed', () => {
    expect(courseProgress(noQuiz, enrolled(6))).toMatchObject({ completedLessons: 4, percentage: 100, completionRate: 1 });
  });

  it('is zero without an enrollment', () => {
    expect(courseProgress(noQuiz, undefined)).toMatchObject({ completedLessons: 0, percentage: 0 });
  });

  it('counts passed quizzes and watch time when given', () => {
    const twoQuizzes = assembleCourse({ id: 'c', title: 'C', description: null }, [
      { id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [0, 1, 2, 3].map(lesson), quizzes: [quiz, { ...quiz, id: 'q2', position: 1 }] },
    ]);
    // 3 of 4 lessons, 1 of 2 quizzes: 0.5 x 0.75 + 0.5 x 0.5 = 0.625.
    expect(courseProgress(twoQuizzes, enrolled(3), { passedQuizzes: 1, watchTimeSeconds: 754 })).toEqual({
      totalLessons: 4,
      completedLessons: 3,
      totalQuizzes: 2,
      passedQuizzes: 1,
      watchTimeSeconds: 754,
      percentage: 75,
      completionRate: 0.625,
    });
    // All lessons and both quizzes: 1.
    expect(courseProgress(twoQuizzes, enrolled(4), { passedQuizzes: 2, watchTimeSeconds: 0 })).toMatchObject({ completionRate: 1 });
  });

  it('caps passed quizzes at what the course holds after an edit removed some', () => {
    // 0 of 4 lessons, 3 passed capped to 1 of 1: 0.5 x 0 + 0.5 x 1 = 0.5.
    expect(courseProgress(withQuiz, enrolled(0), { passedQuizzes: 3, watchTimeSeconds: 0 })).toMatchObject({
      passedQuizzes: 1,
      percentage: 0,
      completionRate: 0.5,
    });
  });

  it('gives an empty course a rate of 0', () => {
    const empty = assembleCourse({ id: 'e', title: 'E', description: null }, []);
    expect(courseProgress(empty, enrolled(0), { passedQuizzes: 0, watchTimeSeconds: 0 })).toMatchObject({ percentage: 0, completionRate: 0 });
  });
});

describe('courseComplete', () => {
  it('needs every lesson and every quiz', () => {
    expect(courseComplete(withQuiz, 4, 1)).toBe(true);
    expect(courseComplete(withQuiz, 4, 0)).toBe(false);
    expect(courseComplete(withQuiz, 3, 1)).toBe(false);
  });

  it('needs only the lessons when the course has no quiz', () => {
    expect(courseComplete(noQuiz, 4, 0)).toBe(true);
    expect(courseComplete(noQuiz, 3, 0)).toBe(false);
  });

  it('needs only the quizzes when the course has no lesson', () => {
    const quizOnly = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [], quizzes: [quiz] }]);
    expect(courseComplete(quizOnly, 0, 1)).toBe(true);
    expect(courseComplete(quizOnly, 0, 0)).toBe(false);
  });

  it('is never complete for a course with nothing in it', () => {
    expect(courseComplete(assembleCourse({ id: 'e', title: 'E', description: null }, []), 0, 0)).toBe(false);
  });

  it('is complete when counts exceed what the course holds after an edit removed lessons', () => {
    expect(courseComplete(noQuiz, 6, 0)).toBe(true);
  });
});

describe('watch time', () => {
  const video = (durationSeconds: number | null) => ({ kind: 'VIDEO', durationSeconds });

  it('puts the threshold at 90% of the duration, rounded up, without floating-point drift', () => {
    expect(watchThreshold(100)).toBe(90);
    expect(watchThreshold(61)).toBe(55); // 54.9 -> 55
    expect(watchThreshold(70)).toBe(63); // 0.9 x 70 is 63.00000000000001 in floating point
  });

  it('completes a video when the sum reaches 90%, not at 89.9%', () => {
    // 1000 s video: threshold 900 s; 899 s is 89.9%.
    expect(watchCompletes(video(1000), 0, 899)).toBe(false);
    expect(watchCompletes(video(1000), 0, 900)).toBe(true);
    expect(watchCompletes(video(1000), 899, 900)).toBe(true);
    expect(watchCompletes(video(1000), 500, 1200)).toBe(true);
  });

  it('completes only on the call that crosses the threshold', () => {
    // Already at or past 900 s before the call: completed earlier, not again.
    expect(watchCompletes(video(1000), 900, 1000)).toBe(false);
    expect(watchCompletes(video(1000), 950, 1950)).toBe(false);
  });

  it('never completes a lesson that is not a video, or has no duration', () => {
    expect(watchCompletes({ kind: 'READING', durationSeconds: 100 }, 0, 100)).toBe(false);
    expect(watchCompletes(video(null), 0, 14_400)).toBe(false);
    expect(watchCompletes(video(0), 0, 10)).toBe(false);
  });

  it('bounds one call by the duration, or 4 h without one', () => {
    expect(maxWatchSeconds({ durationSeconds: 600 })).toBe(600);
    expect(maxWatchSeconds({ durationSeconds: null })).toBe(14_400);
    expect(maxWatchSeconds({ durationSeconds: 0 })).toBe(14_400);
  });
});

describe('averageBestScore', () => {
  it('is the mean of best scores, null before any attempt', () => {
    expect(averageBestScore([])).toBeNull();
    expect(averageBestScore([80, 95, 60])).toBeCloseTo(78.333, 3);
    expect(averageBestScore(new Map([['q1', 50], ['q2', 100]]).values())).toBe(75);
  });
});

describe('topicMastery', () => {
  const l = (id: string, moduleId: string, position: number): Lesson => ({ ...lesson(position), id, moduleId });
  const q = (id: string, moduleId: string, position: number) => ({ ...quiz, id, moduleId, position });
  const course = assembleCourse({ id: 'c', title: 'C', description: null }, [
    { id: 'basics', courseId: 'c', title: 'Basics', position: 0, lessons: [l('a1', 'basics', 0), l('a2', 'basics', 1), l('a3', 'basics', 2), l('a4', 'basics', 3)], quizzes: [q('q1', 'basics', 0), q('q2', 'basics', 1)] },
    { id: 'videos', courseId: 'c', title: 'Videos', position: 1, lessons: [l('b1', 'videos', 0), l('b2', 'videos', 1)], quizzes: [] },
    { id: 'exam', courseId: 'c', title: 'Exam', position: 2, lessons: [], quizzes: [q('q3', 'exam', 0), q('q4', 'exam', 1)] },
    { id: 'soon', courseId: 'c', title: 'Coming soon', position: 3, lessons: [], quizzes: [] },
  ]);

  it('scores each module of a scripted learner, in course order', () => {
    // The learner completed a1, a2, a3 and b2, took q1 twice (60 then 80: best 80), took q3 (90)
    // and q4 (70), never took q2; 'elsewhere' and 'qX' belong to another course.
    const facts = {
      completedLessons: new Set(['a1', 'a2', 'a3', 'b2', 'elsewhere']),
      bestScores: new Map([['q1', 80], ['q3', 90], ['q4', 70], ['qX', 100]]),
    };
    const result = topicMastery(course, facts);
    expect(result.map((m) => m.moduleId)).toEqual(['basics', 'videos', 'exam', 'soon']);
    // Basics: lessons 3/4 = 0.75; attempted q1 only -> average 80;
    // mastery = 0.5 x 0.75 + 0.5 x (80 + 0) / (100 x 2) = 0.375 + 0.2 = 0.575.
    expect(result[0]).toMatchObject({ title: 'Basics', lessonCompletionRate: 0.75, averageQuizScore: 80 });
    expect(result[0]!.mastery).toBeCloseTo(0.575, 10);
    // Videos: lessons 1/2 = 0.5; no quiz -> average null, mastery = lessons = 0.5.
    expect(result[1]).toEqual({ moduleId: 'videos', title: 'Videos', lessonCompletionRate: 0.5, averageQuizScore: null, mastery: 0.5 });
    // Exam: no lessons -> rate 0; average (90 + 70) / 2 = 80;
    // quizzes only, so mastery = (90 + 70) / (100 x 2) = 0.8.
    expect(result[2]).toMatchObject({ lessonCompletionRate: 0, averageQuizScore: 80 });
    expect(result[2]!.mastery).toBeCloseTo(0.8, 10);
    // Coming soon: nothing in it -> 0, null, 0.
    expect(result[3]).toEqual({ moduleId: 'soon', title: 'Coming soon', lessonCompletionRate: 0, averageQuizScore: null, mastery: 0 });
  });

  it('weighs lessons and quizzes half and half in a module with both', () => {
    // Basics: all 4 lessons, no quiz taken -> 0.5 x 1 + 0.5 x 0 = 0.5;
    // then q1 = 100 and q2 = 50 as well -> 0.5 x 1 + 0.5 x 150 / 200 = 0.875.
    const lessonsOnly = { completedLessons: new Set(['a1', 'a2', 'a3', 'a4']), bestScores: new Map<string, number>() };
    expect(topicMastery(course, lessonsOnly)[0]!.mastery).toBe(0.5);
    const both = { completedLessons: lessonsOnly.completedLessons, bestScores: new Map([['q1', 100], ['q2', 50]]) };
    expect(topicMastery(course, both)[0]).toMatchObject({ averageQuizScore: 75, mastery: 0.875 });
  });

  it('is 1 for modules fully done with perfect scores, 0 for one with nothing in it, and 0 for a learner who did nothing', () => {
    const all = topicMastery(course, {
      completedLessons: new Set(['a1', 'a2', 'a3', 'a4', 'b1', 'b2']),
      bestScores: new Map([['q1', 100], ['q2', 100], ['q3', 100], ['q4', 100]]),
    });
    expect(all.map((m) => m.mastery)).toEqual([1, 1, 1, 0]);
    const none = topicMastery(course, { completedLessons: new Set(), bestScores: new Map() });
    expect(none.map((m) => [m.lessonCompletionRate, m.averageQuizScore, m.mastery])).toEqual([
      [0, null, 0],
      [0, null, 0],
      [0, null, 0],
      [0, null, 0],
    ]);
  });

  it('counts a quiz attempted with a best score of 0 in the average', () => {
    // Exam: q3 best 0, q4 unattempted -> average 0 (not null); mastery (0 + 0) / 200 = 0.
    const [, , exam] = topicMastery(course, { completedLessons: new Set(), bestScores: new Map([['q3', 0]]) });
    expect(exam).toMatchObject({ averageQuizScore: 0, mastery: 0 });
  });
});
