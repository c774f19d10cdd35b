import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { Forbidden, Unauthenticated } from '../domain/errors';
import type { Context } from './context';

/**
 * The Pothos builder. It defines no types: each type lives in its own file with the root
 * fields that return it (Pothos's app-layout guide).
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    /** Any valid token. */
    learner: boolean;
    /** A token with the admin role. */
    admin: boolean;
  };
  Scalars: {
    ID: { Input: string; Output: string };
    /** ms since epoch or a Date out; a Date in. */
    DateTime: { Input: Date; Output: Date | number };
    Date: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      learner: ctx.viewer !== null,
      admin: ctx.viewer?.roles.has('admin') ?? false,
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer ? new Forbidden('This needs the admin role.') : new Unauthenticated(),
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
