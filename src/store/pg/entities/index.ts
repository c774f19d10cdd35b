export * from './catalog';
export * from './learner';
import { BadgeEntity, CourseEntity, LessonEntity, LevelEntity, ModuleEntity, QuizEntity } from './catalog';
import {
  BadgeAwardEntity,
  DeadLetterEntity,
  DeploymentSettingEntity,
  EnrollmentEntity,
  LearnerEntity,
  LearnerEventEntity,
  LessonProgressEntity,
  XpTransactionEntity,
} from './learner';

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
  LearnerEventEntity,
  DeadLetterEntity,
  DeploymentSettingEntity,
];
