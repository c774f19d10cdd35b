import type { GraphQLSchema } from 'graphql';
import { builder } from './builder';
import './scalars';
import './catalog';
import './learner';
import './progress';
import './quizzes';
import './mastery';
import './lessonProgress';
import './events';
import './leaderboard';
import './achievements';
import './badgeProgress';
import './certificates';
import './learnerEvents';
import './activity';
import './goals';

let schema: GraphQLSchema | null = null;

/** The served schema (built once per process). */
export function buildSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}
