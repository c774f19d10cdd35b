/**
 * Run the benchmarks one after the other, each in its own process (so one's memory, sockets and
 * JIT state cannot skew the next), print a compact summary and write every figure as JSON to
 * bench/results/<timestamp>.json (gitignored).
 *
 * Run:  npm run bench                      (all: complete-lesson, then flusher)
 *       npm run bench -- flusher           (a subset, by name)
 * Each benchmark's own BENCH_* variables pass through (see the header of each file).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompleteLessonResult } from './complete-lesson';
import type { FlusherResult } from './flusher';
import { ROOT } from './lib';

const BENCHMARKS = ['complete-lesson', 'flusher'] as const;
type Name = (typeof BENCHMARKS)[number];

interface Outcome {
  name: Name;
  exitCode: number | null;
  seconds: number;
  result: unknown;
}

function runOne(name: Name): Promise<Outcome> {
  const resultFile = join(tmpdir(), `lms-bench-${process.pid}-${name}.json`);
  rmSync(resultFile, { force: true });
  const started = Date.now();
  console.error(`\n=== ${name} ===`);
  const child = spawn(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`)], {
    cwd: ROOT,
    env: { ...process.env, BENCH_RESULT_FILE: resultFile },
    // The child's stdout (its JSON and one-line summary) goes to our stderr: our stdout is the summary.
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.pipe(process.stderr);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      let result: unknown = null;
      try {
        result = JSON.parse(readFileSync(resultFile, 'utf8'));
      } catch {
        // no result: the benchmark failed before it measured anything
      }
      rmSync(resultFile, { force: true });
      resolve({ name, exitCode: code, seconds: Math.round((Date.now() - started) / 100) / 10, result });
    });
  });
}

function git(...args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function summarize(o: Outcome): string {
  const status = o.exitCode === 0 ? 'ok' : `FAILED (exit ${o.exitCode})`;
  if (o.name === 'complete-lesson' && o.result) {
    const r = o.result as CompleteLessonResult;
    return (
      `complete-lesson  ${r.requestsPerSecond} req/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  ` +
      `non-2xx ${r.requests.non2xx}  GraphQL errors ${r.requests.graphqlErrors}  ` +
      `(${r.config.connections} conns, ${r.config.durationS} s; server CPU ${r.cpuPercent.server}%; ` +
      `XP landed ${r.verification.ok ? 'yes' : 'NO'}; SIGTERM exit ${r.shutdown.exitCode})  ${status}`
    );
  }
  if (o.name === 'flusher' && o.result) {
    const r = o.result as FlusherResult;
    return (
      `flusher          ${r.flush.entriesPerSecond} entries/s  ${r.flush.rowsPerSecond} rows/s  ` +
      `(${r.config.backlog} entries in ${r.flush.ms} ms, ${r.flush.rowsPerEntry} rows/entry, batch ${r.config.batchSize}, ` +
      `${r.config.mode}; fill ${r.fill.entriesPerSecond}/s; check ${r.verification.ok ? 'ok' : 'FAILED'})  ${status}`
    );
  }
  return `${o.name.padEnd(16)} no result  ${status}`;
}

async function main(): Promise<void> {
  const requested = process.argv.slice(2);
  const unknown = requested.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
  if (unknown.length) {
    console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHMARKS.join(', ')}`);
    process.exit(2);
  }
  const names = requested.length ? (requested as Name[]) : [...BENCHMARKS];

  const startedAt = new Date();
  const outcomes: Outcome[] = [];
  for (const name of names) outcomes.push(await runOne(name));

  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host: { node: process.version, platform: process.platform, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null },
    git: { commit: git('rev-parse', 'HEAD'), srcDirty: (git('status', '--porcelain', '--', 'src', 'migrations') ?? '') !== '' },
    results: Object.fromEntries(outcomes.map((o) => [o.name, { exitCode: o.exitCode, seconds: o.seconds, result: o.result }])),
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  console.log('\nSummary');
  for (const o of outcomes) console.log(`  ${summarize(o)}`);
  console.log(`  results: ${file}`);
  if (outcomes.some((o) => o.exitCode !== 0)) process.exit(1);
}

void main();
