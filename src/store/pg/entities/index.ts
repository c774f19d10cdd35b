export * from './catalog';
export * from './learner';
import { BadgeEntity, CourseEntity, LessonEntity, LevelEntity, ModuleEntity, QuizEntity } from './catalog';
import { BadgeAwardEntity, EnrollmentEntity, LearnerEntity, LessonProgressEntity, QuizAttemptEntity, XpTransactionEntity } from './learner';

export const entities = [
  CourseEntity,
  ModuleEntity,
  LessonEntity,
  QuizEntity,
  BadgeEntity,
  LevelEntity,
  LearnerEntity,
  EnrollmentEntity,
  LessonProgressEntity,
  XpTransactionEntity,
  BadgeAwardEntity,
  QuizAttemptEntity,
];
