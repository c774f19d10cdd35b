import type { Catalog } from '../catalog/types';
import { BadInput } from '../errors';
import type { EnrollmentState } from '../learners/state';

/** What a learner's hash holds of one lesson. */
export interface LessonState {
  /** ms; null while not completed */
  completedAt: number | null;
  watchSeconds: number;
  /** The last watch (ms); null when never watched. */
  watchedAt: number | null;
}

/** One row of `lessonProgress`. */
export interface LessonProgressNode {
  lessonId: string;
  courseId: string;
  completed: boolean;
  completedAt: number | null;
  watchTimeSeconds: number;
  /** The later of the completion and the last watch; the enrollment time before either. */
  updatedAt: number;
  /** Where the lesson sits: the enrollment (time, course), the module's and the lesson's index. */
  position: LessonPosition;
}

/** A lesson's place in the learner's list: enrollments in the order they were made, then the course's order. */
export type LessonPosition = [enrolledAt: number, courseId: string, module: number, lesson: number, lessonId: string];

export interface LessonProgressPage {
  totalCount: number;
  nodes: LessonProgressNode[];
  hasNextPage: boolean;
}

/** Most rows one `lessonProgress` page answers. */
export const MAX_LESSON_PAGE = 100;

/** Enrollments in the order they were made (ties by course id). Pure. */
export function inEnrollmentOrder(enrollments: readonly EnrollmentState[]): EnrollmentState[] {
  return [...enrollments].sort((a, b) => a.enrolledAt - b.enrolledAt || (a.courseId < b.courseId ? -1 : a.courseId > b.courseId ? 1 : 0));
}

/**
 * The learner's lessons to show: every lesson of the enrolled courses (or of `courseId` alone,
 * when enrolled in it), in enrollment order, then module and lesson order. Pure.
 */
export function lessonsInScope(catalog: Catalog, enrollments: readonly EnrollmentState[], courseId: string | null): { lessonId: string; enrollment: EnrollmentState; position: LessonPosition }[] {
  const out: { lessonId: string; enrollment: EnrollmentState; position: LessonPosition }[] = [];
  for (const e of inEnrollmentOrder(enrollments)) {
    if (courseId !== null && e.courseId !== courseId) continue;
    const course = catalog.course(e.courseId);
    if (!course) continue;
    course.modules.forEach((m, mi) =>
      m.lessons.forEach((l, li) => out.push({ lessonId: l.id, enrollment: e, position: [e.enrolledAt, e.courseId, mi, li, l.id] })),
    );
  }
  return out;
}

function comparePositions(a: LessonPosition, b: LessonPosition): number {
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/** Opaque cursor of a row: its position, so it stays valid when other lessons come or go. */
export function encodeLessonCursor(position: LessonPosition): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** @throws BadInput for a cursor this API did not hand out */
export function decodeLessonCursor(cursor: string): LessonPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  const ok =
    Array.isArray(value) &&
    value.length === 5 &&
    Number.isSafeInteger(value[0]) &&
    typeof value[1] === 'string' &&
    Number.isSafeInteger(value[2]) &&
    Number.isSafeInteger(value[3]) &&
    typeof value[4] === 'string';
  if (!ok) throw new BadInput('That cursor is not one this API handed out.', 'after');
  return value as LessonPosition;
}

/**
 * One page of lesson progress: the lessons in scope (see lessonsInScope) with their state,
 * filtered by `completed` when given, `first` of them after the `after` position. `totalCount`
 * counts the filtered set. Pure.
 * @throws BadInput for `first` outside 0..MAX_LESSON_PAGE
 */
export function lessonProgressPage(
  scope: ReturnType<typeof lessonsInScope>,
  states: ReadonlyMap<string, LessonState>,
  options: { completed: boolean | null; first: number; after: LessonPosition | null },
): LessonProgressPage {
  checkFirst(options.first);
  const node = ({ lessonId, enrollment, position }: (typeof scope)[number]): LessonProgressNode => {
    const s = states.get(lessonId);
    const completedAt = s?.completedAt ?? null;
    const times = [completedAt, s?.watchedAt ?? null].filter((t): t is number => t !== null);
    return {
      lessonId,
      courseId: enrollment.courseId,
      completed: completedAt !== null,
      completedAt,
      watchTimeSeconds: s?.watchSeconds ?? 0,
      updatedAt: times.length ? Math.max(...times) : enrollment.enrolledAt,
      position,
    };
  };
  const after = options.after;
  if (options.completed === null) {
    // Every lesson in scope counts: only the page's lessons need their state.
    const rest = after ? scope.filter((r) => comparePositions(r.position, after) > 0) : scope;
    return { totalCount: scope.length, nodes: rest.slice(0, options.first).map(node), hasNextPage: rest.length > options.first };
  }
  const rows = scope.map(node).filter((r) => r.completed === options.completed);
  const rest = after ? rows.filter((r) => comparePositions(r.position, after) > 0) : rows;
  return { totalCount: rows.length, nodes: rest.slice(0, options.first), hasNextPage: rest.length > options.first };
}

/**
 * The lessons whose state `lessonProgressPage` needs: the page's alone without a `completed`
 * filter (so a page costs O(first), not O(every lesson of every enrollment)), else all in scope.
 * @throws BadInput for `first` out of bounds
 */
export function lessonsToRead(scope: ReturnType<typeof lessonsInScope>, options: { completed: boolean | null; first: number; after: LessonPosition | null }): string[] {
  checkFirst(options.first);
  if (options.completed !== null) return scope.map((l) => l.lessonId);
  const after = options.after;
  const rest = after ? scope.filter((r) => comparePositions(r.position, after) > 0) : scope;
  return rest.slice(0, options.first).map((l) => l.lessonId);
}

function checkFirst(first: number): void {
  if (!Number.isInteger(first) || first < 0 || first > MAX_LESSON_PAGE) {
    throw new BadInput(`first must be between 0 and ${MAX_LESSON_PAGE}.`, 'first');
  }
}
