import { describe, expect, it } from 'vitest';
import { assembleCourse, type Lesson } from '../catalog/types';
import type { EnrollmentState } from '../learners/state';
import { courseProgress } from './rules';

const lesson = (i: number): Lesson => ({ id: `l${i}`, courseId: 'c', moduleId: 'm', title: `L${i}`, kind: 'READING', durationSeconds: 60, xpReward: 10, position: i });
const quiz = { id: 'q1', courseId: 'c', moduleId: 'm', title: 'Q', passScore: 70, xpReward: 20, position: 0 };
const withQuiz = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [0, 1, 2, 3].map(lesson), quizzes: [quiz] }]);
const noQuiz = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [0, 1, 2, 3].map(lesson), quizzes: [] }]);
const enrolled = (lessonsCompleted: number): EnrollmentState => ({ id: 'e', courseId: 'c', enrolledAt: 0, xpEarned: 0, xpAt: null, lessonsCompleted, completedAt: null });

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
});
