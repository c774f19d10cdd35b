import { createSourceEventStream, execute, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context';

type Results = Map<string, Promise<ExecutionResult>>;

/**
 * Subscribers of one event share its result. Feeds push the same object to every subscriber
 * that should see the same thing (a board's top for one `first`, a learner's update), so the
 * result of one operation (same query, variables and viewer) over that event is executed once
 * and handed to all of them; without this, 200 `leaderboardChanged(first: 100)` subscribers
 * resolve 20,000 entries per change.
 *
 * Replaces the subscribe function: the source stream comes from the schema's subscribe
 * resolvers as before (graphql-js createSourceEventStream); each event is then executed through
 * graphql-js `execute` with the event as root value, as `subscribe` does, but looked up first
 * in a cache that lives as long as the event object. A closed HTTP response (the request's
 * abort signal) ends the subscription. The first subscriber's context runs it:
 * the key holds the viewer, and subscription events read fresh state (uncached loaders), so
 * only the request id in an error message may be another subscriber's.
 */
export function useSharedSubscriptionResults(options: {
  /** `Type.field` coordinates whose value depends on who asks (e.g. `Leaderboard.me`): operations selecting one are shared per viewer only. */
  viewerFields: readonly string[];
}): Plugin<Context> {
  const byEvent = new WeakMap<object, Results>();
  const viewerFields = new Set(options.viewerFields);
  const personal = new WeakMap<DocumentNode, boolean>();
  const isPersonal = (schema: GraphQLSchema, document: DocumentNode) => {
    let p = personal.get(document);
    if (p === undefined) personal.set(document, (p = selectsAny(schema, document, viewerFields)));
    return p;
  };
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (!isAsyncIterable(source)) return source;
        const key = operationKey(args, isPersonal(args.schema, args.document));
        // Over HTTP (server-sent events), the request's signal aborts when the response closes;
        // yoga's stream would otherwise hold the subscription until its next write fails.
        const signal = (args.contextValue as { request?: Request } | undefined)?.request?.signal;
        return mapEvents(source, signal, (event) => {
          if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
          let results = byEvent.get(event);
          if (!results) byEvent.set(event, (results = new Map()));
          let result = results.get(key);
          if (!result) {
            result = Promise.resolve(execute({ ...args, rootValue: event }));
            results.set(key, result);
          }
          return result;
        });
      });
    },
  };
}

/**
 * What makes two subscriptions' results over the same event equal: the query, its variables,
 * and whether a viewer is signed in with which roles (auth scopes); the viewer's id too when
 * the operation selects a field that depends on who asks.
 */
function operationKey(args: ExecutionArgs, personal: boolean): string {
  const viewer = (args.contextValue as Context | undefined)?.viewer;
  return JSON.stringify([
    args.document.loc?.source.body ?? null,
    args.operationName ?? null,
    args.variableValues ?? null,
    viewer ? [personal ? viewer.id : '', [...viewer.roles].sort()] : null,
  ]);
}

/** Whether a document selects any of the `Type.field` coordinates. */
function selectsAny(schema: GraphQLSchema, document: DocumentNode, fields: ReadonlySet<string>): boolean {
  if (fields.size === 0) return false;
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && fields.has(`${parent.name}.${node.name.value}`)) found = true;
      },
    }),
  );
  return found;
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

/**
 * Map a stream's events. `return()` goes straight to the source (a pending `next()` is not in
 * the way, unlike an async generator's), so a client leaving frees its feed at once.
 */
function mapEvents(source: AsyncIterable<unknown>, signal: AbortSignal | undefined, map: (event: unknown) => ExecutionResult | Promise<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  const it = source[Symbol.asyncIterator]();
  const stop = () => void it.return?.()?.catch(() => undefined);
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  const done = { done: true, value: undefined } as IteratorReturnResult<undefined>;
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    [Symbol.asyncIterator]: () => mapped,
    async next() {
      const r = await it.next();
      if (r.done) return done as never;
      return { done: false, value: await map(r.value) };
    },
    async return() {
      signal?.removeEventListener('abort', stop);
      await it.return?.();
      return done as never;
    },
    async throw(err?: unknown) {
      if (it.throw) await it.throw(err);
      throw err;
    },
  };
  return mapped;
}
