import { describe, expect, it } from 'vitest';
import { assembleCourse, Catalog } from '../catalog/types';
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
