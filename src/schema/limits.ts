import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { getNamedType, GraphQLError, isIntrospectionType, type ASTVisitor, type ValidationContext } from 'graphql';
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
    // Last, so it wraps the parser the token limit set.
    parserStackGuard,
  ];
}

/**
 * Most `[` and `{` open at once in a document (values and selection sets together). Far above
 * any query the depth limit (12) and the JSON argument limit (16) let through; far below the
 * parser's stack (about 2,000 nested values, fewer on a busy stack).
 */
export const MAX_NESTING = 256;

/**
 * How deeply `[` and `{` nest in a GraphQL document, outside strings, block strings and
 * comments; it stops counting past `stopAbove`. One pass, no recursion.
 */
export function nestingOf(text: string, stopAbove = Infinity): number {
  let depth = 0;
  let most = 0;
  const n = text.length;
  for (let i = 0; i < n; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > most) {
        most = depth;
        if (most > stopAbove) return most;
      }
    } else if (c === 0x5d || c === 0x7d) {
      if (depth > 0) depth -= 1;
    } else if (c === 0x23) {
      // A comment, to the end of the line.
      while (i + 1 < n && text.charCodeAt(i + 1) !== 0x0a && text.charCodeAt(i + 1) !== 0x0d) i += 1;
    } else if (c === 0x22) {
      if (text.startsWith('"""', i)) {
        // A block string: only \""" escapes its end.
        i += 3;
        while (i < n && !text.startsWith('"""', i)) i += text.startsWith('\\"""', i) ? 4 : 1;
        i += 2;
      } else {
        i += 1;
        while (i < n && text.charCodeAt(i) !== 0x22 && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      }
    }
  }
  return most;
}

/** What a document whose values nest too deeply for the parser is refused with. */
export function tooDeeplyNestedError(): GraphQLError {
  return new GraphQLError('This query nests its values (lists or objects) too deeply to be read; send a flatter one.', { extensions: { code: LIMIT_CODES.depth } });
}

/**
 * graphql-js parses a list or object value by recursion: about 2,000 nested `[` (fewer tokens
 * than the token limit) overflow the stack, which would answer a masked 500. The parser is
 * pure, so its RangeError is the document's fault: refuse it with QUERY_TOO_DEEP.
 */
const parserStackGuard: Plugin = {
  onParse({ parseFn, setParseFn }) {
    setParseFn((source, options) => {
      const text = typeof source === 'string' ? source : source.body;
      if (nestingOf(text, MAX_NESTING) > MAX_NESTING) throw tooDeeplyNestedError();
      try {
        return parseFn(source, options);
      } catch (err) {
        if (err instanceof RangeError) throw tooDeeplyNestedError();
        throw err;
      }
    });
  },
};

/** The code an introspection query is refused with when INTROSPECTION is off. */
export const INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED';

/** A validation rule refusing `__schema` and `__type` (`__typename` stays: clients need it). */
function NoIntrospectionRule(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const type = getNamedType(context.getType());
      if (type && isIntrospectionType(type)) {
        context.reportError(
          new GraphQLError(`Introspection is turned off on this server (the query asks for "${node.name.value}"); use the published schema.graphql instead.`, {
            nodes: node,
            extensions: { code: INTROSPECTION_DISABLED },
          }),
        );
        // One error per introspection field, not one more for each field under it.
        return false;
      }
      return undefined;
    },
  };
}

/**
 * Refuse introspection queries, over HTTP and WebSocket alike (a validation rule, so it runs
 * wherever yoga validates; envelop's useDisableIntrospection keys on the HTTP request only).
 */
export const introspectionDisabled: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(NoIntrospectionRule);
  },
};
