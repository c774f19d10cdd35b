import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { BadInput, DomainError, RateLimited, Unavailable } from '../domain/errors';
import { shortenQuotes } from '../domain/validation';
import type { Logger } from '../logger';
import type { Context } from './context';

/**
 * Turn one error into what a client may see: domain errors keep their message and get their
 * `extensions.code` (and `extensions.field` for BAD_USER_INPUT); anything unexpected is
 * logged with the request id and masked as INTERNAL_SERVER_ERROR.
 */
/** Turns an error that is not a DomainError into one (e.g. a store outage into UNAVAILABLE), or null. */
export type ErrorTranslator = (err: Error) => DomainError | null;

export function toClientError(error: GraphQLError, requestId: string | undefined, log: Logger, translate: ErrorTranslator = () => null): GraphQLError {
  let original = error.originalError;
  if (original && !(original instanceof DomainError) && !(original instanceof GraphQLError)) {
    const translated = translate(original);
    if (translated) {
      log.warn({ err: original.message, requestId, path: error.path }, translated.message);
      original = translated;
    }
  }
  if (original instanceof DomainError) {
    const field = original instanceof BadInput ? (original.field ?? variablePathOf(error.message)) : undefined;
    return new GraphQLError(original.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: {
        code: original.code,
        ...(field ? { field } : {}),
        // Retryable: tell HTTP clients and proxies so (503), with why.
        ...(original instanceof Unavailable ? { reason: original.reason, http: { status: 503 } } : {}),
        ...(original instanceof RateLimited ? { retryAfter: original.retryAfterSeconds } : {}),
      },
    });
  }
  // Errors graphql-js raised itself (validation, variable coercion) are about the request.
  if (!original || original instanceof GraphQLError) {
    if (original instanceof GraphQLError && original.originalError instanceof DomainError) {
      // A scalar refused a variable's value: its message, this error's place and variable path.
      const inner = toClientError(original, requestId, log);
      const field = inner.extensions.field ?? (inner.extensions.code === 'BAD_USER_INPUT' ? variablePathOf(error.message) : undefined);
      return new GraphQLError(inner.message, { nodes: error.nodes, path: error.path, extensions: { ...inner.extensions, ...(field ? { field } : {}) } });
    }
    return requestError(error);
  }
  log.error({ err: original, requestId, path: error.path }, 'unexpected error in a resolver');
  return new GraphQLError(`Something went wrong on our side (request ${requestId ?? 'unknown'}).`, {
    nodes: error.nodes,
    path: error.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  });
}

/**
 * Where a variable-coercion error points: `Variable "$input" got invalid value 5 at
 * "input.modules[0].title"` is about `input.modules.0.title`. Undefined for other messages.
 */
function variablePathOf(message: string): string | undefined {
  const m = /^Variable "\$([^"]{1,100})" (?:got invalid value .*? at "([^"]{1,300})"|)/s.exec(message);
  if (!m) return undefined;
  return (m[2] ?? m[1]!).replace(/\[(\d+)\]/g, '.$1');
}

/**
 * An error graphql-js raised about the request itself (a variable of the wrong type, a missing
 * operation name): BAD_USER_INPUT, naming the variable's path in `field`, its message quoting
 * at most a short prefix of what was sent.
 */
function requestError(error: GraphQLError): GraphQLError {
  const code = error.extensions?.code ?? 'BAD_USER_INPUT';
  const field = error.extensions?.field ?? variablePathOf(error.message);
  return new GraphQLError(shortenQuotes(error.message, 300), {
    nodes: error.nodes,
    path: error.path,
    extensions: { ...error.extensions, code, ...(field ? { field } : {}) },
  });
}

/**
 * Errors yoga made before anything ran (the body, parsing, validation) in what a client may
 * see: a body that is not JSON is "The request body is not valid JSON." (BAD_REQUEST), never
 * the parser's text; every message quotes at most a short prefix of what was sent.
 */
export function toRequestError(error: GraphQLError): GraphQLError {
  const extensions = { ...error.extensions } as Record<string, unknown>;
  let message = shortenQuotes(error.message, 300);
  if (extensions.originalError !== undefined) {
    delete extensions.originalError;
    if (error.message === 'POST body sent invalid JSON.') {
      message = 'The request body is not valid JSON.';
      // A 400 whatever the response's media type: nothing ran.
      extensions.http = { status: 400 };
    }
  }
  if (error.message === 'Must provide query string.') {
    // A body without a query ({}): a bad request, whatever the response's media type.
    message = 'The request has no query: send {"query": "..."}.';
    extensions.http = { status: 400 };
  }
  extensions.code ??= 'BAD_REQUEST';
  return new GraphQLError(message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions });
}

/** Envelop plugin applying `toClientError` to every query, mutation and subscription result. */
export function useErrorCodes(log: Logger, translate: ErrorTranslator = () => null): Plugin<Context> {
  // One handler for both hooks: each hands over the arguments and the result (or stream).
  const remap = (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) => {
    const ctx = payload.args.contextValue as Context | undefined;
    return handleStreamOrSingleExecutionResult(payload, ({ result, setResult }) => {
      if (!result.errors?.length) return;
      setResult({ ...result, errors: result.errors.map((e) => toClientError(e, ctx?.requestId, log, translate)) } as ExecutionResult);
    });
  };
  return {
    onResultProcess({ result, setResult }) {
      // Request-level failures (bad body, parse and validation errors) never reach execute.
      if (Array.isArray(result) || !result || typeof result !== 'object' || !('errors' in result) || !result.errors?.length) return;
      setResult({ ...result, errors: result.errors.map((e) => (e instanceof GraphQLError ? toRequestError(e) : e)) } as ExecutionResult);
    },
    onExecute: () => ({ onExecuteDone: remap }),
    onSubscribe: ({ args }) => ({
      onSubscribeResult: remap,
      // Also what a live stream throws (its source failed: a store read at the start, a resync),
      // which graphql-ws and the event streams send as the operation's error: translated like a
      // result's error (a store outage is UNAVAILABLE), an unexpected one logged with its request id.
      onSubscribeError({ error, setError }) {
        if (error instanceof GraphQLError && !error.originalError) return;
        const ctx = args.contextValue as Context | undefined;
        const located = error instanceof GraphQLError ? error : new GraphQLError((error as Error)?.message ?? String(error), { originalError: error as Error });
        setError(toClientError(located, ctx?.requestId, log, translate));
      },
    }),
  };
}
