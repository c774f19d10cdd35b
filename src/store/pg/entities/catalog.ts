import { EntitySchema } from '@mikro-orm/core';

export interface CourseRow {
  id: string;
  title: string;
  description: string | null;
  position: number;
  updatedAt: Date;
}

export const CourseEntity = new EntitySchema<CourseRow>({
  name: 'CourseRow',
  tableName: 'courses',
  properties: {
    id: { type: 'text', primary: true },
    title: { type: 'text' },
    description: { type: 'text', nullable: true },
    position: { type: 'integer' },
    updatedAt: { type: 'Date', fieldName: 'updated_at' },
  },
});

export interface ModuleRow {
  id: string;
  courseId: string;
  title: string;
  position: number;
}

export const ModuleEntity = new EntitySchema<ModuleRow>({
  name: 'ModuleRow',
  tableName: 'modules',
  properties: {
    id: { type: 'text', primary: true },
    courseId: { type: 'text', fieldName: 'course_id' },
    title: { type: 'text' },
    position: { type: 'integer' },
  },
});

export interface LessonRow {
  id: string;
  courseId: string;
  moduleId: string;
  title: string;
  kind: 'VIDEO' | 'READING' | 'CHALLENGE';
  durationSeconds: number | null;
  xpReward: number;
  position: number;
}

export const LessonEntity = new EntitySchema<LessonRow>({
  name: 'LessonRow',
  tableName: 'lessons',
  properties: {
    id: { type: 'text', primary: true },
    courseId: { type: 'text', fieldName: 'course_id' },
    moduleId: { type: 'text', fieldName: 'module_id' },
    title: { type: 'text' },
    kind: { type: 'text' },
    durationSeconds: { type: 'integer', fieldName: 'duration_seconds', nullable: true },
    xpReward: { type: 'integer', fieldName: 'xp_reward' },
    position: { type: 'integer' },
  },
});

export interface QuizRow {
  id: string;
  courseId: string;
  moduleId: string;
  title: string;
  passScore: number;
  xpReward: number;
  position: number;
}

export const QuizEntity = new EntitySchema<QuizRow>({
  name: 'QuizRow',
  tableName: 'quizzes',
  properties: {
    id: { type: 'text', primary: true },
    courseId: { type: 'text', fieldName: 'course_id' },
    moduleId: { type: 'text', fieldName: 'module_id' },
    title: { type: 'text' },
    passScore: { type: 'integer', fieldName: 'pass_score' },
    xpReward: { type: 'integer', fieldName: 'xp_reward' },
    position: { type: 'integer' },
  },
});

export interface BadgeRow {
  id: string;
  name: string;
  description: string | null;
  imageUrl: string | null;
  criteria: unknown;
  xpReward: number;
  createdAt: Date;
}

export const BadgeEntity = new EntitySchema<BadgeRow>({
  name: 'BadgeRow',
  tableName: 'badges',
  properties: {
    id: { type: 'text', primary: true },
    name: { type: 'text' },
    description: { type: 'text', nullable: true },
    imageUrl: { type: 'text', fieldName: 'image_url', nullable: true },
    criteria: { type: 'json' },
    xpReward: { type: 'integer', fieldName: 'xp_reward' },
    createdAt: { type: 'Date', fieldName: 'created_at' },
  },
});

export interface LevelRow {
  level: number;
  name: string | null;
  minXp: number;
}

export const LevelEntity = new EntitySchema<LevelRow>({
  name: 'LevelRow',
  tableName: 'level_table',
  properties: {
    level: { type: 'integer', primary: true },
    name: { type: 'text', nullable: true },
    minXp: { type: 'integer', fieldName: 'min_xp' },
  },
});
