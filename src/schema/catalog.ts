import type { Badge, Catalog, Course, Lesson, Module, Quiz } from '../domain/catalog/types';
import { levelRows, type Level } from '../domain/levels/rules';
import { builder } from './builder';

/**
 * A course by id for what refers to it (enrollments, certificates). A course is never deleted
 * through the API; should one be gone, an empty shell keeps what refers to it readable.
 */
export function courseOrShell(catalog: Catalog, courseId: string): Course {
  return catalog.course(courseId) ?? { id: courseId, title: courseId, description: null, modules: [], lessonCount: 0, quizCount: 0, totalXp: 0 };
}

export const LessonKindEnum = builder.enumType('LessonKind', { values: ['VIDEO', 'READING', 'CHALLENGE'] as const });

export const LessonRef = builder.objectRef<Lesson>('Lesson').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    courseId: t.exposeID('courseId'),
    title: t.exposeString('title'),
    kind: t.field({ type: LessonKindEnum, resolve: (l) => l.kind }),
    durationSeconds: t.exposeInt('durationSeconds', { nullable: true }),
    xpReward: t.exposeInt('xpReward'),
  }),
});

export const QuizRef = builder.objectRef<Quiz>('Quiz').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    courseId: t.exposeID('courseId'),
    title: t.exposeString('title'),
    passScore: t.exposeInt('passScore'),
    xpReward: t.exposeInt('xpReward'),
  }),
});

export const ModuleRef = builder.objectRef<Module>('Module').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title'),
    position: t.exposeInt('position'),
    lessons: t.field({ type: [LessonRef], resolve: (m) => m.lessons }),
    quizzes: t.field({ type: [QuizRef], resolve: (m) => m.quizzes }),
  }),
});

export const CourseRef = builder.objectRef<Course>('Course').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title'),
    description: t.exposeString('description', { nullable: true }),
    modules: t.field({ type: [ModuleRef], resolve: (c) => c.modules }),
    lessonCount: t.exposeInt('lessonCount'),
    quizCount: t.exposeInt('quizCount'),
    totalXp: t.exposeInt('totalXp'),
  }),
});

export const BadgeRef = builder.objectRef<Badge>('Badge').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    imageUrl: t.exposeString('imageUrl', { nullable: true }),
    criteria: t.field({
      type: 'JSON',
      description: 'e.g. {"type":"videos_completed","value":10}; see API.md.',
      resolve: (b) => b.criteria,
    }),
    xpReward: t.exposeInt('xpReward'),
  }),
});

export const LevelRef = builder.objectRef<Level>('Level').implement({
  fields: (t) => ({
    level: t.exposeInt('level'),
    name: t.exposeString('name', { nullable: true }),
    minXp: t.exposeInt('minXp'),
  }),
});

const LessonInput = builder.inputType('LessonInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string({ required: true }),
    kind: t.field({ type: LessonKindEnum, required: true }),
    durationSeconds: t.int(),
    xpReward: t.int({ required: true }),
  }),
});

const QuizInput = builder.inputType('QuizInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string({ required: true }),
    passScore: t.int({ required: true }),
    xpReward: t.int({ required: true }),
  }),
});

const ModuleInput = builder.inputType('ModuleInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string({ required: true }),
    lessons: t.field({ type: [LessonInput], required: true }),
    quizzes: t.field({ type: [QuizInput] }),
  }),
});

const CourseInput = builder.inputType('CourseInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    title: t.string({ required: true }),
    description: t.string(),
    modules: t.field({ type: [ModuleInput], required: true }),
  }),
});

const BadgeInput = builder.inputType('BadgeInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: true }),
    description: t.string(),
    imageUrl: t.string(),
    criteria: t.field({ type: 'JSON', required: true }),
    xpReward: t.int(),
  }),
});

const LevelInput = builder.inputType('LevelInput', {
  fields: (t) => ({
    level: t.int({ required: true }),
    name: t.string(),
    minXp: t.int({ required: true }),
  }),
});

builder.queryFields((t) => ({
  courses: t.field({
    type: [CourseRef],
    resolve: (_r, _a, ctx) => [...ctx.services.catalog.get().courses],
  }),
  course: t.field({
    type: CourseRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.services.catalog.get().course(id) ?? null,
  }),
  badges: t.field({
    type: [BadgeRef],
    resolve: (_r, _a, ctx) => [...ctx.services.catalog.get().badges],
  }),
  levels: t.field({
    type: [LevelRef],
    description: 'The level table in force.',
    resolve: (_r, _a, ctx) => levelRows(ctx.services.catalog.get().levels),
  }),
}));

builder.mutationFields((t) => ({
  upsertCourse: t.field({
    type: CourseRef,
    description: 'Admin: create or replace a course with its modules, lessons and quizzes.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: CourseInput, required: true }) },
    resolve: (_r, { input }, ctx) => ctx.services.catalog.upsertCourse(input),
  }),
  upsertBadge: t.field({
    type: BadgeRef,
    description: 'Admin: create or replace a badge.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: BadgeInput, required: true }) },
    resolve: (_r, { input }, ctx) => ctx.services.catalog.upsertBadge(input),
  }),
  setLevels: t.field({
    type: [LevelRef],
    description: 'Admin: replace the level table.',
    authScopes: { admin: true },
    args: { levels: t.arg({ type: [LevelInput], required: true }) },
    resolve: (_r, { levels }, ctx) => ctx.services.catalog.setLevels(levels),
  }),
}));
