import { describe, expect, it } from 'vitest';
import { assembleCourse, Catalog, type Badge } from '../catalog/types';
import { parseInput } from '../validation';
import { prepareEvent } from './prepare';
import { eventPayloads, type LearningEvent } from './types';

const quiz = { id: 'q1', courseId: 'c', moduleId: 'm', title: 'Q', passScore: 70, xpReward: 30, position: 0 };
const lesson = (id: string, kind: 'VIDEO' | 'READING', durationSeconds: number | null, position: number) => ({ id, courseId: 'c', moduleId: 'm', title: id, kind, durationSeconds, xpReward: 20, position });
// v70: a 70 s video (completes at 63 s); r: a reading of 300 s; vx: a video without a duration.
const lessons = [lesson('v70', 'VIDEO', 70, 0), lesson('r', 'READING', 300, 1), lesson('vx', 'VIDEO', null, 2)];
const course = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons, quizzes: [quiz] }]);
const catalog = new Catalog([course], [{ id: 'rich', name: 'Rich', description: null, imageUrl: null, criteria: { type: 'xp_total', value: 100 }, xpReward: 0 }], null);
// 2026-11-22T10:00:00Z
const now = Date.UTC(2026, 10, 22, 10, 0, 0);

const attempt = (quizId: string, score: number): LearningEvent<'QUIZ_ATTEMPTED'> => ({
  id: 'e',
  idFromCaller: false,
  key: 'k',
  kind: 'QUIZ_ATTEMPTED',
  learnerId: 'ana',
  occurredAt: now,
  recordedAt: now,
  payload: { quizId, score },
});

describe('QUIZ_ATTEMPTED', () => {
  it('takes the course, pass score and XP from the catalog, with the badges XP can unlock', () => {
    expect(prepareEvent(attempt('q1', 55), catalog)).toMatchObject({ quizId: 'q1', courseId: 'c', score: 55, passScore: 70, xp: 30, badges: { ids: ['rich'] } });
  });

  it('is NOT_FOUND for a quiz the catalog does not hold', () => {
    expect(() => prepareEvent(attempt('nope', 90), catalog)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('takes whole scores from 0 to 100 and refuses the rest naming `score`', () => {
    for (const score of [0, 70, 100]) expect(parseInput(eventPayloads.QUIZ_ATTEMPTED, { quizId: 'q1', score }, '')).toEqual({ quizId: 'q1', score });
    for (const score of [101, -1, 1.5, Number.NaN, '90']) {
      expect(() => parseInput(eventPayloads.QUIZ_ATTEMPTED, { quizId: 'q1', score }, ''), String(score)).toThrow(
        expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'score', message: 'Invalid score: A score is a whole number from 0 to 100.' }),
      );
    }
  });
});

const watched = (lessonId: string, seconds: number): LearningEvent<'WATCHED'> => ({
  id: 'e',
  idFromCaller: false,
  key: 'k',
  kind: 'WATCHED',
  learnerId: 'ana',
  occurredAt: now,
  recordedAt: now,
  payload: { lessonId, seconds },
});

describe('WATCHED', () => {
  it("passes a video's threshold (90% of its duration), and 0 for a reading or a video without a duration", () => {
    expect(prepareEvent(watched('v70', 70), catalog)).toMatchObject({ lessonId: 'v70', courseId: 'c', seconds: 70, toEnd: false, threshold: 63, xp: 20, video: true });
    expect(prepareEvent(watched('r', 300), catalog)).toMatchObject({ threshold: 0, video: false });
    expect(prepareEvent(watched('vx', 14_400), catalog)).toMatchObject({ threshold: 0, video: true });
  });

  it('refuses more seconds than the duration (4 h without one) naming `seconds`; NOT_FOUND for an unknown lesson', () => {
    expect(() => prepareEvent(watched('v70', 71), catalog)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'seconds' }));
    expect(() => prepareEvent(watched('vx', 14_401), catalog)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'seconds' }));
    expect(() => prepareEvent(watched('nope', 1), catalog)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('takes whole seconds from 1 and refuses the rest naming `seconds`', () => {
    for (const seconds of [0, -1, 1.5, '10']) {
      expect(() => parseInput(eventPayloads.WATCHED, { lessonId: 'v70', seconds }, ''), String(seconds)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'seconds' }));
    }
  });
});

describe('LESSON_COMPLETED', () => {
  it('says whether the lesson is a video (counted in videos completed)', () => {
    const e = { ...watched('v70', 1), kind: 'LESSON_COMPLETED' as const, payload: { lessonId: 'v70' } };
    expect(prepareEvent(e, catalog)).toMatchObject({ video: true, xp: 20 });
    expect(prepareEvent({ ...e, payload: { lessonId: 'r' } }, catalog)).toMatchObject({ video: false });
  });
});

describe('badge candidates', () => {
  // Two courses, c (quiz q1) and d (quiz q2); one badge per fact an event can change.
  const q2 = { ...quiz, id: 'q2', courseId: 'd' };
  const d = assembleCourse({ id: 'd', title: 'D', description: null }, [{ id: 'md', courseId: 'd', title: 'M', position: 0, lessons: [{ ...lesson('dl', 'READING', 60, 0), courseId: 'd', moduleId: 'md' }], quizzes: [q2] }]);
  const badge = (id: string, criteria: Badge['criteria']): Badge => ({ id, name: id, description: null, imageUrl: null, criteria, xpReward: 0 });
  const badges = [
    badge('xp', { type: 'xp_total', value: 100 }),
    badge('lessons', { type: 'lessons_completed', value: 2 }),
    badge('lessons-c', { type: 'lessons_completed', value: 2, course_id: 'c' }),
    badge('videos', { type: 'videos_completed', value: 1 }),
    badge('watch', { type: 'watch_time_seconds', value: 60 }),
    badge('passed', { type: 'quizzes_passed', value: 2 }),
    badge('score-q1', { type: 'quiz_score', min_score: 90, quiz_id: 'q1' }),
    badge('tried-q1', { type: 'quiz_score', min_score: 0, quiz_id: 'q1' }),
    badge('score-any', { type: 'quiz_score', min_score: 90 }),
    badge('tried-any', { type: 'quiz_score', min_score: 0 }),
    badge('courses', { type: 'courses_completed', value: 2 }),
    badge('course-c', { type: 'courses_completed', value: 1, course_id: 'c' }),
    badge('course-d', { type: 'courses_completed', value: 1, course_id: 'd' }),
    badge('days', { type: 'active_days', value: 3 }),
  ];
  const cat = new Catalog([course, d], badges, null);
  const ids = (e: LearningEvent) => (prepareEvent(e, cat) as { badges: { ids: readonly string[] } }).badges.ids;
  const complete = (lessonId: string): LearningEvent<'LESSON_COMPLETED'> => ({ ...watched(lessonId, 1), kind: 'LESSON_COMPLETED', payload: { lessonId } });

  it('a lesson completion: XP, lessons, videos and the completion of its course', () => {
    expect(ids(complete('v70'))).toEqual(['xp', 'lessons', 'lessons-c', 'videos', 'courses', 'course-c', 'days']);
    expect(ids(complete('dl'))).toEqual(['xp', 'lessons', 'videos', 'courses', 'course-d', 'days']);
  });

  it('a watch: all a completion may change, and the watch time', () => {
    expect(ids(watched('v70', 10))).toEqual(['xp', 'lessons', 'lessons-c', 'videos', 'watch', 'courses', 'course-c', 'days']);
  });

  it("a quiz attempt: XP, passes, that quiz's and any best score, attempts, and the completion of its course", () => {
    expect(ids(attempt('q1', 50))).toEqual(['xp', 'passed', 'score-q1', 'tried-q1', 'score-any', 'tried-any', 'courses', 'course-c', 'days']);
    expect(ids(attempt('q2', 50))).toEqual(['xp', 'passed', 'score-any', 'tried-any', 'courses', 'course-d', 'days']);
  });

  it('passes the fields the rules read, and compiles each set once per snapshot', () => {
    const p = prepareEvent(attempt('q1', 50), cat) as { badges: { fields: readonly string[] } };
    expect(new Set(p.badges.fields)).toEqual(
      new Set(['b:xp', 'xp', 'b:passed', 'qpc', 'b:score-q1', 'qb:q1', 'b:tried-q1', 'qn:q1', 'b:score-any', 'qbm', 'b:tried-any', 'qt', 'b:courses', 'crs', 'b:course-c', 'ec:c', 'b:days', 'ad']),
    );
    expect(cat.quizCandidates('q1')).toBe(cat.quizCandidates('q1'));
    expect(cat.watchCandidates('c')).toBe(cat.watchCandidates('c'));
    expect(cat.lessonCandidates('c')).toBe(cat.lessonCandidates('c'));
    expect(cat.quizCandidates('nope').ids).toEqual([]);
  });
});
