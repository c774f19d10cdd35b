import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Most aliases in one operation. */
export const MAX_ALIASES = 30;
/** Most tokens (names, punctuation, values) in one document. */
export const MAX_TOKENS = 5000;

/** The code each query limit answers with, in `extensions.code` (README "Errors"). */
export const LIMIT_CODES = {
  depth: 'QUERY_TOO_DEEP',
  cost: 'QUERY_TOO_COSTLY',
  aliases: 'TOO_MANY_ALIASES',
  tokens: 'QUERY_TOO_LARGE',
} as const;

type Limit = keyof typeof LIMIT_CODES;

const MESSAGES: Record<Limit, (limit: number, found: string | undefined) => string> = {
  depth: (n, found) => `This query nests ${found ?? 'more than ' + n} levels deep; at most ${n} are allowed.`,
  cost: (n, found) => `This query would cost ${found ?? 'more than ' + n}; at most ${n} is allowed. Ask for fewer fields or smaller pages.`,
  aliases: (n, found) => `This query uses ${found ?? 'more than ' + n} aliases; at most ${n} are allowed.`,
  tokens: (n) => `This query is longer than ${n} tokens; send a shorter one.`,
};

/** A limit's refusal: a plain sentence (graphql-armor's start "Syntax Error") and its code. */
export function limitError(limit: Limit, n: number, armorMessage = ''): GraphQLError {
  const found = /found (\d+)/.exec(armorMessage)?.[1];
  return new GraphQLError(MESSAGES[limit](n, found), { extensions: { code: LIMIT_CODES[limit], limit: n } });
}

/**
 * The query limits (graphql-armor): depth, cost and aliases are validation rules, reported as
 * validation errors of the one operation (over WebSocket too: the connection stays open);
 * the token limit stops the parser. Each refusal carries its code from {@link LIMIT_CODES}.
 */
export function queryLimitPlugins(limits: { maxDepth: number; maxCost: number }): Plugin[] {
  const report = (limit: Limit, n: number) => ({
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [(ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(limitError(limit, n, err.message))],
  });
  return [
    maxDepthPlugin({ n: limits.maxDepth, ...report('depth', limits.maxDepth) }),
    costLimitPlugin({ maxCost: limits.maxCost, ...report('cost', limits.maxCost) }),
    maxAliasesPlugin({ n: MAX_ALIASES, ...report('aliases', MAX_ALIASES) }),
    maxTokensPlugin({
      n: MAX_TOKENS,
      exposeLimits: true,
      // The parser cannot report and go on: throwing here stops it with our error instead of armor's.
      onReject: [
        () => {
          throw limitError('tokens', MAX_TOKENS);
        },
      ],
    }),
  ];
}
