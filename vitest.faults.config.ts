import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Fault drills (`npm run test:faults`): each file starts its own redis-server and PostgreSQL
// cluster and the real server process, so the files run one after another, never alongside
// `npm test`'s suites (whose config does not include faults/).
// The figures each drill prints are also collected here and printed as one table at the end.
process.env.FAULTS_REPORT_FILE ??= join(tmpdir(), `lms-faults-report-${process.pid}.jsonl`);

export default defineConfig({
  // One copy of graphql-js, as in vitest.config.ts.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    name: 'faults',
    include: ['faults/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['faults/summary.ts'],
    fileParallelism: false,
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 120_000,
  },
});
