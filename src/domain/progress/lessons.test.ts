import { describe, expect, it } from 'vitest';
import { assembleCourse, Catalog } from '../catalog/types';
import type { EnrollmentState } from '../learners/state';
import { decodeLessonCursor, encodeLessonCursor, lessonProgressPage, lessonsInScope, lessonsToRead } from './lessons';

const lesson = (courseId: string, moduleId: string, id: string, position: number) => ({ id, courseId, moduleId, title: id, kind: 'VIDEO' as const, durationSeconds: 60, xpReward: 10, position });
const courseOf = (id: string, modules: string[][]) =>
  assembleCourse(
    { id, title: id, description: null },
    modules.map((ids, m) => ({ id: `${id}-m${m}`, courseId: id, title: 'M', position: m, lessons: ids.map((l, i) => lesson(id, `${id}-m${m}`, l, i)), quizzes: [] })),
  );
const catalog = new Catalog([courseOf('a', [['a1', 'a2'], ['a3']]), courseOf('b', [['b1']])], [], null);
const enrolled = (courseId: string, enrolledAt: number): EnrollmentState => ({ id: courseId, courseId, enrolledAt, xpEarned: 0, xpAt: null, lessonsCompleted: 0, quizzesPassed: 0, watchSeconds: 0, completedAt: null, certificateCode: null });
// b enrolled first (t = 100), then a (t = 200).
const enrollments = [enrolled('a', 200), enrolled('b', 100)];

describe('lessonsToRead', () => {
  const scope = lessonsInScope(catalog, enrollments, null);
  it("names only the page's lessons without a completed filter, every lesson in scope with one", () => {
    expect(lessonsToRead(scope, { completed: null, first: 2, after: null })).toEqual(['b1', 'a1']);
    const page = lessonProgressPage(scope, new Map(), { completed: null, first: 2, after: null });
    expect(lessonsToRead(scope, { completed: null, first: 2, after: page.nodes[1]!.position })).toEqual(['a2', 'a3']);
    expect(lessonsToRead(scope, { completed: true, first: 1, after: null })).toEqual(['b1', 'a1', 'a2', 'a3']);
    expect(() => lessonsToRead(scope, { completed: null, first: -1, after: null })).toThrow(/first/);
  });

  it('gives the same page from the page lessons alone as from every state', () => {
    const all = new Map([
      ['a1', { completedAt: 500, watchSeconds: 60, watchedAt: 400 }],
      ['a3', { completedAt: null, watchSeconds: 10, watchedAt: 700 }],
    ]);
    const opts = { completed: null, first: 2, after: null };
    const some = new Map([...all].filter(([id]) => lessonsToRead(scope, opts).includes(id)));
    expect(lessonProgressPage(scope, some, opts)).toEqual(lessonProgressPage(scope, all, opts));
  });
});

describe('lessonProgressPage', () => {
  const scope = lessonsInScope(catalog, enrollments, null);
  const states = new Map([
    ['a1', { completedAt: 500, watchSeconds: 60, watchedAt: 400 }],
    ['a3', { completedAt: null, watchSeconds: 10, watchedAt: 700 }],
  ]);

  it('lists lessons by enrollment, then module and lesson order, with updatedAt the latest change or the enrollment', () => {
    const page = lessonProgressPage(scope, states, { completed: null, first: 10, after: null });
    expect(page.nodes.map((n) => [n.lessonId, n.completed, n.watchTimeSeconds, n.updatedAt])).toEqual([
      ['b1', false, 0, 100],
      ['a1', true, 60, 500],
      ['a2', false, 0, 200],
      ['a3', false, 10, 700],
    ]);
    expect(page).toMatchObject({ totalCount: 4, hasNextPage: false });
  });

  it('filters by course and completion, counting the filtered set, and resumes after a cursor even when its lesson is gone', () => {
    expect(lessonProgressPage(lessonsInScope(catalog, enrollments, 'a'), states, { completed: false, first: 10, after: null }).nodes.map((n) => n.lessonId)).toEqual(['a2', 'a3']);
    const first = lessonProgressPage(scope, states, { completed: null, first: 2, after: null });
    expect(first).toMatchObject({ totalCount: 4, hasNextPage: true });
    const cursor = encodeLessonCursor(first.nodes[1]!.position);
    const rest = lessonProgressPage(lessonsInScope(catalog, enrollments, null).filter((l) => l.lessonId !== 'a1'), states, { completed: null, first: 2, after: decodeLessonCursor(cursor) });
    expect(rest.nodes.map((n) => n.lessonId)).toEqual(['a2', 'a3']);
  });

  it('refuses first past 100 and cursors it did not hand out', () => {
    expect(() => lessonProgressPage(scope, states, { completed: null, first: 101, after: null })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'first' }));
    for (const bad of ['', 'xyz', Buffer.from('[1,2]').toString('base64url')]) {
      expect(() => decodeLessonCursor(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }));
    }
  });
});
