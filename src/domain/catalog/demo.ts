import type { CourseInput } from './input';

/**
 * The demo catalog loaded when the catalog is empty (DEMO_CATALOG=true, the default):
 * three courses of two or three modules each, VIDEO / READING / CHALLENGE lessons with
 * durations and XP, a quiz per module, and badges that unlock along the way.
 */
export const demoCourses: CourseInput[] = [
  {
    id: 'ts-foundations',
    title: 'TypeScript Foundations',
    description: 'Types, narrowing and generics: the TypeScript you use every day.',
    modules: [
      {
        id: 'ts-1',
        title: 'Types from the ground up',
        lessons: [
          { id: 'ts-1-1', title: 'Why types?', kind: 'VIDEO', durationSeconds: 420, xpReward: 50 },
          { id: 'ts-1-2', title: 'Primitives, arrays and objects', kind: 'READING', durationSeconds: 600, xpReward: 40 },
          { id: 'ts-1-3', title: 'Type the shopping cart', kind: 'CHALLENGE', durationSeconds: 900, xpReward: 100 },
        ],
        quizzes: [{ id: 'ts-1-quiz', title: 'Types check', passScore: 70, xpReward: 60 }],
      },
      {
        id: 'ts-2',
        title: 'Narrowing and unions',
        lessons: [
          { id: 'ts-2-1', title: 'Union types', kind: 'VIDEO', durationSeconds: 540, xpReward: 50 },
          { id: 'ts-2-2', title: 'Type guards and discriminated unions', kind: 'READING', durationSeconds: 720, xpReward: 50 },
          { id: 'ts-2-3', title: 'Model a payment state machine', kind: 'CHALLENGE', durationSeconds: 1200, xpReward: 120 },
        ],
        quizzes: [{ id: 'ts-2-quiz', title: 'Narrowing quiz', passScore: 70, xpReward: 60 }],
      },
      {
        id: 'ts-3',
        title: 'Generics',
        lessons: [
          { id: 'ts-3-1', title: 'Generic functions', kind: 'VIDEO', durationSeconds: 660, xpReward: 60 },
          { id: 'ts-3-2', title: 'Constraints and defaults', kind: 'READING', durationSeconds: 480, xpReward: 40 },
          { id: 'ts-3-3', title: 'Write a typed event emitter', kind: 'CHALLENGE', durationSeconds: 1500, xpReward: 150 },
        ],
        quizzes: [{ id: 'ts-3-quiz', title: 'Generics quiz', passScore: 80, xpReward: 80 }],
      },
    ],
  },
  {
    id: 'graphql-practice',
    title: 'GraphQL in Practice',
    description: 'Schemas, resolvers, DataLoader and subscriptions, built step by step.',
    modules: [
      {
        id: 'gql-1',
        title: 'Schemas and queries',
        lessons: [
          { id: 'gql-1-1', title: 'Thinking in graphs', kind: 'VIDEO', durationSeconds: 480, xpReward: 50 },
          { id: 'gql-1-2', title: 'The type system', kind: 'READING', durationSeconds: 540, xpReward: 40 },
          { id: 'gql-1-3', title: 'Design a course catalog schema', kind: 'CHALLENGE', durationSeconds: 1200, xpReward: 120 },
        ],
        quizzes: [{ id: 'gql-1-quiz', title: 'Schema basics', passScore: 70, xpReward: 60 }],
      },
      {
        id: 'gql-2',
        title: 'Resolvers that scale',
        lessons: [
          { id: 'gql-2-1', title: 'The N+1 problem', kind: 'VIDEO', durationSeconds: 600, xpReward: 60 },
          { id: 'gql-2-2', title: 'Batching with DataLoader', kind: 'READING', durationSeconds: 660, xpReward: 50 },
          { id: 'gql-2-3', title: 'Batch a leaderboard query', kind: 'CHALLENGE', durationSeconds: 1500, xpReward: 150 },
        ],
        quizzes: [{ id: 'gql-2-quiz', title: 'Resolver quiz', passScore: 75, xpReward: 70 }],
      },
    ],
  },
  {
    id: 'redis-realtime',
    title: 'Redis for Real-Time Apps',
    description: 'Sorted sets, streams, Lua and pub/sub for live dashboards.',
    modules: [
      {
        id: 'rds-1',
        title: 'Data structures',
        lessons: [
          { id: 'rds-1-1', title: 'Strings, hashes and sets', kind: 'VIDEO', durationSeconds: 540, xpReward: 50 },
          { id: 'rds-1-2', title: 'Sorted sets for leaderboards', kind: 'READING', durationSeconds: 600, xpReward: 50 },
          { id: 'rds-1-3', title: 'Build a top-10 board', kind: 'CHALLENGE', durationSeconds: 1200, xpReward: 120 },
        ],
        quizzes: [{ id: 'rds-1-quiz', title: 'Data structures quiz', passScore: 70, xpReward: 60 }],
      },
      {
        id: 'rds-2',
        title: 'Atomicity and events',
        lessons: [
          { id: 'rds-2-1', title: 'Lua scripts', kind: 'VIDEO', durationSeconds: 720, xpReward: 60 },
          { id: 'rds-2-2', title: 'Streams and consumer groups', kind: 'READING', durationSeconds: 780, xpReward: 60 },
          { id: 'rds-2-3', title: 'Exactly-once XP with an outbox', kind: 'CHALLENGE', durationSeconds: 1800, xpReward: 180 },
        ],
        quizzes: [{ id: 'rds-2-quiz', title: 'Atomicity quiz', passScore: 80, xpReward: 80 }],
      },
    ],
  },
];

export const demoBadges: unknown[] = [
  {
    id: 'first-steps',
    name: 'First Steps',
    description: 'Complete your first lesson.',
    criteria: { type: 'lessons_completed', value: 1 },
    xpReward: 10,
  },
  {
    id: 'getting-serious',
    name: 'Getting Serious',
    description: 'Complete 5 lessons.',
    criteria: { type: 'lessons_completed', value: 5 },
    xpReward: 25,
  },
  {
    id: 'xp-500',
    name: 'XP Hunter',
    description: 'Earn 500 XP.',
    criteria: { type: 'xp_total', value: 500 },
    xpReward: 50,
  },
  {
    id: 'level-3',
    name: 'Level 3',
    description: 'Reach level 3.',
    criteria: { type: 'level_reached', value: 3 },
    xpReward: 0,
  },
  {
    id: 'ts-graduate',
    name: 'TypeScript Graduate',
    description: 'Complete every lesson of TypeScript Foundations.',
    criteria: { type: 'lessons_completed', value: 9, course_id: 'ts-foundations' },
    xpReward: 100,
  },
  {
    id: 'quiz-ace',
    name: 'Quiz Ace',
    description: 'Score 90 or more on any quiz.',
    criteria: { type: 'quiz_score', min_score: 90 },
    xpReward: 30,
  },
  {
    id: 'week-streak',
    name: 'On a Roll',
    description: 'Learn 7 days in a row.',
    criteria: { type: 'streak_days', value: 7 },
    xpReward: 70,
  },
];
