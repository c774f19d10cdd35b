import { defineConfig } from 'vitest/config';

// Three projects: `unit` runs pure domain rules with no I/O; `integration` runs the store,
// the schema and the subscriptions against the real Redis and PostgreSQL; `build` builds and
// runs the production image's stages without Docker. Each integration test file creates its
// own database and key prefix (see test/harness.ts).
export default defineConfig({
  // One copy of graphql-js: Vite would otherwise load its ESM build for our code while
  // graphql-yoga (loaded by Node) gets the CommonJS one, and `instanceof GraphQLError` breaks.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Fast rules first, then the integration files.
          sequence: { groupOrder: 0 },
          include: ['src/domain/**/*.test.ts', 'src/config.test.ts', 'src/logger.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['src/store/**/*.test.ts', 'src/schema/**/*.test.ts', 'src/subscriptions/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['test/build.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Two cores: more forks only add contention on the shared Redis/Postgres.
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: {
          // The image's stages without Docker: a type-checked build and a production install,
          // a minute of CPU, alone after the others so it slows none of their timings.
          name: 'build',
          sequence: { groupOrder: 2 },
          include: ['test/build.test.ts'],
          environment: 'node',
          testTimeout: 90_000,
          hookTimeout: 180_000,
          pool: 'forks',
        },
      },
    ],
  },
});
