import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { BadInput, DomainError, Unavailable } from '../domain/errors';
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
    return new GraphQLError(original.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: {
        code: original.code,
        ...(original instanceof BadInput && original.field ? { field: original.field } : {}),
        // Retryable: tell HTTP clients and proxies so (503), with why.
        ...(original instanceof Unavailable ? { reason: original.reason, http: { status: 503 } } : {}),
      },
    });
  }
  // Errors graphql-js raised itself (validation, variable coercion) are about the request.
  if (!original || original instanceof GraphQLError) {
    if (original instanceof GraphQLError && original.originalError instanceof DomainError) {
      return toClientError(original, requestId, log);
    }
    // graphql-js's own messages (variable coercion) quote what was sent: keep them short.
    return error.message.length > 300 ? new GraphQLError(`${error.message.slice(0, 300)}…`, { nodes: error.nodes, path: error.path, extensions: error.extensions }) : error;
  }
  log.error({ err: original, requestId, path: error.path }, 'unexpected error in a resolver');
  return new GraphQLError(`Something went wrong on our side (request ${requestId ?? 'unknown'}).`, {
    nodes: error.nodes,
    path: error.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  });
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
    onExecute: () => ({ onExecuteDone: remap }),
    onSubscribe: () => ({
      onSubscribeResult: remap,
      onSubscribeError({ error, setError }) {
        if (error instanceof DomainError) {
          setError(new GraphQLError(error.message, { extensions: { code: error.code } }));
        }
      },
    }),
  };
}
