import { describe, expect, it } from 'vitest';
import { assembleCourse, Catalog } from '../catalog/types';
import { parseInput } from '../validation';
import { prepareEvent } from './prepare';
import { eventPayloads, type LearningEvent } from './types';

const quiz = { id: 'q1', courseId: 'c', moduleId: 'm', title: 'Q', passScore: 70, xpReward: 30, position: 0 };
const course = assembleCourse({ id: 'c', title: 'C', description: null }, [{ id: 'm', courseId: 'c', title: 'M', position: 0, lessons: [], quizzes: [quiz] }]);
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
