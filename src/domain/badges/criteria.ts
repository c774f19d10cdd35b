import { z } from 'zod';
import { catalogId } from '../catalog/input';
import { jsonShapeProblem } from '../validation';

/** A badge's unlock rule, as stored in `Badge.criteria`. API.md lists the shapes. */
export type BadgeCriteria =
  | { type: 'xp_total'; value: number }
  | { type: 'level_reached'; value: number }
  | { type: 'lessons_completed'; value: number; course_id?: string }
  | { type: 'videos_completed'; value: number }
  | { type: 'quiz_score'; min_score: number; quiz_id?: string }
  | { type: 'quizzes_passed'; value: number }
  | { type: 'streak_days'; value: number }
  | { type: 'courses_completed'; value: number; course_id?: string }
  | { type: 'watch_time_seconds'; value: number }
  | { type: 'active_days'; value: number }
  | { type: 'goals_completed'; value: number }
  | { all: BadgeCriteria[] }
  | { any: BadgeCriteria[] };

/** The leaf rule types, as API.md lists them. */
export const CRITERIA_TYPES = [
  'xp_total',
  'level_reached',
  'lessons_completed',
  'videos_completed',
  'quiz_score',
  'quizzes_passed',
  'streak_days',
  'courses_completed',
  'watch_time_seconds',
  'active_days',
  'goals_completed',
] as const satisfies readonly Extract<BadgeCriteria, { type: string }>['type'][];

const count = z.number().int().min(1).max(1_000_000_000);

const leaf = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('xp_total'), value: count }),
    z.strictObject({ type: z.literal('level_reached'), value: count }),
    z.strictObject({ type: z.literal('lessons_completed'), value: count, course_id: catalogId.optional() }),
    z.strictObject({ type: z.literal('videos_completed'), value: count }),
    z.strictObject({
      type: z.literal('quiz_score'),
      min_score: z.number().int().min(0).max(100),
      quiz_id: catalogId.optional(),
    }),
    z.strictObject({ type: z.literal('quizzes_passed'), value: count }),
    z.strictObject({ type: z.literal('streak_days'), value: count }),
    z.strictObject({ type: z.literal('courses_completed'), value: count, course_id: catalogId.optional() }),
    z.strictObject({ type: z.literal('watch_time_seconds'), value: count }),
    z.strictObject({ type: z.literal('active_days'), value: count }),
    z.strictObject({ type: z.literal('goals_completed'), value: count }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `type must be one of ${CRITERIA_TYPES.join(', ')}.` : undefined) },
);

/** Deepest nesting of all/any, and most rules in one badge. */
export const MAX_CRITERIA_DEPTH = 4;
export const MAX_CRITERIA_NODES = 32;

const allOf: z.ZodType<BadgeCriteria> = z.lazy(() => z.strictObject({ all: z.array(node).min(1).max(MAX_CRITERIA_NODES) }));
const anyOf: z.ZodType<BadgeCriteria> = z.lazy(() => z.strictObject({ any: z.array(node).min(1).max(MAX_CRITERIA_NODES) }));

/**
 * One rule, checked by the shape it claims: `all` or `any` when it has that key, a leaf
 * otherwise. A union would try every shape and, when none fits, report only "Invalid input"
 * at the top; choosing first lets a mistake deep inside (`all.1.any.0.value`) be named where
 * it is. Depth is bounded before this runs (MAX_CRITERIA_JSON), so the recursion is too.
 */
const node: z.ZodType<BadgeCriteria> = z.unknown().transform((value, ctx) => {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const schema = isObject && 'all' in value ? allOf : isObject && 'any' in value ? anyOf : leaf;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  // Issues keep their paths relative to this rule; the enclosing arrays and objects prefix theirs.
  ctx.issues.push(...(parsed.error.issues as typeof ctx.issues));
  return z.NEVER;
}) as unknown as z.ZodType<BadgeCriteria>;

function shape(c: BadgeCriteria, depth = 1): { depth: number; nodes: number } {
  if ('all' in c || 'any' in c) {
    const children = 'all' in c ? c.all : c.any;
    let d = depth;
    let n = 1;
    for (const child of children) {
      const s = shape(child, depth + 1);
      d = Math.max(d, s.depth);
      n += s.nodes;
    }
    return { depth: d, nodes: n };
  }
  return { depth, nodes: 1 };
}

/**
 * Bounds of the criteria JSON, checked without recursion before zod (which recurses) sees it:
 * each all/any level is an object and an array, so {@link MAX_CRITERIA_DEPTH} levels of rules
 * nest 2 x 4 JSON levels at most; a rule is at most 4 values, with its list's array.
 */
export const MAX_CRITERIA_JSON = { maxDepth: 2 * MAX_CRITERIA_DEPTH, maxNodes: 5 * MAX_CRITERIA_NODES } as const;

/** Validates badge criteria JSON (unknown shapes and extra keys are refused). */
export const badgeCriteria = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = jsonShapeProblem(value, MAX_CRITERIA_JSON);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: problem.startsWith('nests')
          ? `Criteria nest at most ${MAX_CRITERIA_DEPTH} levels deep.`
          : `Criteria hold at most ${MAX_CRITERIA_NODES} rules.`,
      });
    }
  })
  .pipe(
    node.superRefine((c, ctx) => {
      const s = shape(c);
      if (s.depth > MAX_CRITERIA_DEPTH) {
        ctx.addIssue({ code: 'custom', message: `Criteria nest at most ${MAX_CRITERIA_DEPTH} levels deep.` });
      }
      if (s.nodes > MAX_CRITERIA_NODES) {
        ctx.addIssue({ code: 'custom', message: `Criteria hold at most ${MAX_CRITERIA_NODES} rules.` });
      }
    }),
  );

/** What badge rules can look at. Facts left undefined are not tracked yet: their rules never pass. */
export interface BadgeFacts {
  totalXp: number;
  level: number;
  lessonsCompleted: number;
  /** Completed lessons that belong to a course. */
  lessonsCompletedIn(courseId: string): number;
  videosCompleted?: number;
  quizzesPassed?: number;
  /** The best score of a quiz, or over all quizzes; null before any attempt. */
  bestQuizScore?: (quizId?: string) => number | null;
  streakDays?: number;
  coursesCompleted?: (courseId?: string) => number;
  watchTimeSeconds?: number;
  activeDays?: number;
  goalsCompleted?: number;
}

/** Current value and target of one rule; `null` when the fact is not tracked. */
export function measure(c: Exclude<BadgeCriteria, { all: unknown } | { any: unknown }>, f: BadgeFacts): { current: number; target: number } | null {
  const of = (v: number | undefined, target: number) => (v === undefined ? null : { current: v, target });
  switch (c.type) {
    case 'xp_total':
      return { current: f.totalXp, target: c.value };
    case 'level_reached':
      return { current: f.level, target: c.value };
    case 'lessons_completed':
      return { current: c.course_id ? f.lessonsCompletedIn(c.course_id) : f.lessonsCompleted, target: c.value };
    case 'videos_completed':
      return of(f.videosCompleted, c.value);
    case 'quiz_score': {
      if (!f.bestQuizScore) return null;
      const best = f.bestQuizScore(c.quiz_id);
      // As compileCriteria: a best score of 0 is what no attempt reads as too, so min_score 0
      // asks for an attempt (one to make, none made yet) rather than passing before any.
      if (c.min_score === 0) return { current: best === null ? 0 : 1, target: 1 };
      return { current: best ?? 0, target: c.min_score };
    }
    case 'quizzes_passed':
      return of(f.quizzesPassed, c.value);
    case 'streak_days':
      return of(f.streakDays, c.value);
    case 'courses_completed':
      return f.coursesCompleted ? { current: f.coursesCompleted(c.course_id), target: c.value } : null;
    case 'watch_time_seconds':
      return of(f.watchTimeSeconds, c.value);
    case 'active_days':
      return of(f.activeDays, c.value);
    case 'goals_completed':
      return of(f.goalsCompleted, c.value);
  }
}

/** Whether a learner with these facts meets the criteria. Pure. */
export function meets(c: BadgeCriteria, f: BadgeFacts): boolean {
  if ('all' in c) return c.all.every((x) => meets(x, f));
  if ('any' in c) return c.any.some((x) => meets(x, f));
  const m = measure(c, f);
  return m !== null && m.current >= m.target;
}
