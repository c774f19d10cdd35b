import { z } from 'zod';
import { displayText } from '../validation';
import { assembleCourse, type Course } from './types';

/** Ids of catalog things: short, printable, no spaces. */
export const catalogId = z
  .string()
  .trim()
  .min(1, 'An id cannot be empty.')
  .max(100, 'An id has at most 100 characters.')
  .regex(/^[A-Za-z0-9_.:-]+$/, 'An id may hold letters, digits and _ . : - only.');

/** Titles of courses, modules, lessons and quizzes: one line of display text (validation.ts). */
const title = displayText('A title', 200);
const xpReward = z.number().int().min(0, 'xpReward cannot be negative.').max(100_000);

export const MAX_MODULES = 100;
export const MAX_LESSONS_PER_MODULE = 200;
export const MAX_QUIZZES_PER_MODULE = 50;
export const MAX_LESSONS_PER_COURSE = 2000;

const lessonInput = z.object({
  /** Lesson id, unique across the whole catalog. */
  id: catalogId,
  /** Lesson title. */
  title,
  /** VIDEO, READING or CHALLENGE. */
  kind: z.enum(['VIDEO', 'READING', 'CHALLENGE']),
  /** Length in seconds (a video's duration, a reading's estimate). */
  durationSeconds: z.number().int().min(1).max(86_400).nullish(),
  /** XP paid once on completion. */
  xpReward,
});

const quizInput = z.object({
  /** Quiz id, unique across the whole catalog. */
  id: catalogId,
  /** Quiz title. */
  title,
  /** Score (0-100) at or above which an attempt passes. */
  passScore: z.number().int().min(0).max(100),
  /** XP paid on the first passing attempt. */
  xpReward,
});

const moduleInput = z.object({
  /** Module id, unique across the whole catalog. */
  id: catalogId,
  /** Module title. */
  title,
  /** Lessons in order. */
  lessons: z.array(lessonInput).max(MAX_LESSONS_PER_MODULE),
  /** Quizzes in order. */
  quizzes: z.array(quizInput).max(MAX_QUIZZES_PER_MODULE).nullish(),
});

/** `upsertCourse(input)`: a whole course, replacing what was there. */
export const courseInput = z
  .object({
    /** Course id. */
    id: catalogId,
    /** Course title. */
    title,
    /** Free text shown in the catalog. */
    description: displayText('A description', 5000, { multiline: true, allowEmpty: true }).nullish(),
    /** Modules in order. */
    modules: z.array(moduleInput).max(MAX_MODULES),
  })
  .superRefine((course, ctx) => {
    const seen = new Map<string, string>();
    let lessons = 0;
    course.modules.forEach((m, mi) => {
      const claim = (id: string, path: (string | number)[], what: string) => {
        const before = seen.get(id);
        if (before) ctx.addIssue({ code: 'custom', path, message: `The id "${id}" is used twice (${before} and ${what}).` });
        else seen.set(id, what);
      };
      claim(m.id, ['modules', mi, 'id'], 'a module');
      m.lessons.forEach((l, li) => claim(l.id, ['modules', mi, 'lessons', li, 'id'], 'a lesson'));
      (m.quizzes ?? []).forEach((q, qi) => claim(q.id, ['modules', mi, 'quizzes', qi, 'id'], 'a quiz'));
      lessons += m.lessons.length;
    });
    if (lessons > MAX_LESSONS_PER_COURSE) {
      ctx.addIssue({ code: 'custom', path: ['modules'], message: `A course has at most ${MAX_LESSONS_PER_COURSE} lessons.` });
    }
  });

export type CourseInput = z.input<typeof courseInput>;

/** Turn validated input into the catalog's course shape, positions in input order. Pure. */
export function courseFromInput(input: z.output<typeof courseInput>): Course {
  const modules = input.modules.map((m, position) => ({
    id: m.id,
    courseId: input.id,
    title: m.title,
    position,
    lessons: m.lessons.map((l, lp) => ({
      id: l.id,
      courseId: input.id,
      moduleId: m.id,
      title: l.title,
      kind: l.kind,
      durationSeconds: l.durationSeconds ?? null,
      xpReward: l.xpReward,
      position: lp,
    })),
    quizzes: (m.quizzes ?? []).map((q, qp) => ({
      id: q.id,
      courseId: input.id,
      moduleId: m.id,
      title: q.title,
      passScore: q.passScore,
      xpReward: q.xpReward,
      position: qp,
    })),
  }));
  return assembleCourse({ id: input.id, title: input.title, description: input.description ?? null }, modules);
}
