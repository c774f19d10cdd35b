import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyTestEnv, eventually, freePort, newTestEnv, startTestApp, TEST_SECRET, type TestApp } from './harness';

const env = newTestEnv();
let t: TestApp;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Start `npm run simulate`'s program with `args`; `onLine` sees each line of its output as it comes. */
function runSimulate(args: string[], extraEnv: Record<string, string>, onLine?: (line: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/simulate.ts', ...args], {
      env: { PATH: process.env.PATH, NODE_ENV: 'development', JWT_SECRET: TEST_SECRET, SIMULATE_URL: t.url, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) onLine?.(line, (s) => child.kill(s));
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const BOARD = '{ leaderboard(first: 10) { entries { score learner { id } } } }';

beforeAll(async () => {
  t = await startTestApp(env, { config: { DEMO_CATALOG: 'true' } });
});

afterAll(async () => {
  await t?.stop();
  await destroyTestEnv(env);
});

describe('npm run simulate', () => {
  it('makes the demo learners earn XP that shows on the board, and stops after --actions', async () => {
    const before = await t.gql(BOARD);
    expect(before.data!.leaderboard.entries).toEqual([]);
    const run = await runSimulate(['--actions', '40', '--pace', '20ms'], {});
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^simulate: demo-ada, demo-linus, demo-grace learning at /);
    expect(run.stdout).toContain('simulate: stopped after 40 actions.');
    expect(run.stdout).toMatch(/\+\d+ XP \(total \d+\)/);
    expect(run.stdout).toMatch(/^demo-\w+ logged in$/m);
    expect(run.stdout).toMatch(/^demo-\w+ enrolled in "/m);
    if (process.env.SIMULATE_SHOW) console.log(run.stdout);
    // No action failed (an error is printed as "<learner>: <message>").
    expect(run.stdout.split('\n').filter((line) => /^[\w-]+: /.test(line) && !line.startsWith('simulate: '))).toEqual([]);
    const entries = await eventually(async () => {
      const res = await t.gql(BOARD);
      const list = res.data!.leaderboard.entries as { score: number; learner: { id: string } }[];
      return list.length > 0 ? list : null;
    }, 5000, 'the simulated learners on the board');
    for (const e of entries) {
      expect(['demo-ada', 'demo-linus', 'demo-grace']).toContain(e.learner.id);
      expect(e.score).toBeGreaterThan(0);
    }
    // The board holds what the learners themselves report.
    const profile = await t.gql('query($id: ID!) { learner(id: $id) { displayName totalXp } }', { variables: { id: entries[0]!.learner.id } });
    expect(profile.data!.learner.totalXp).toBe(entries[0]!.score);
    expect(['Ada', 'Linus', 'Grace']).toContain(profile.data!.learner.displayName);
  }, 60_000);

  it('stops cleanly on Ctrl-C', async () => {
    let sent = false;
    const run = await runSimulate(['--pace', '50ms', '--learners', 'sim-1,sim-2'], {}, (line, kill) => {
      // After the first action: SIGINT as a terminal's Ctrl-C sends it.
      if (!sent && line.startsWith('sim-')) {
        sent = true;
        kill('SIGINT');
      }
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/simulate: stopped after \d+ actions?\.\n$/);
    expect(run.stderr).toBe('');
  }, 60_000);

  it('stops after --for', async () => {
    const started = Date.now();
    const run = await runSimulate(['--for', '1s', '--pace', '100ms', '--learners', 'sim-3'], {});
    expect(run.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.stdout).toMatch(/simulate: stopped after \d+ actions?\./);
  }, 60_000);

  it('refuses to run in production, and says so in one line', async () => {
    const run = await runSimulate(['--actions', '1'], { NODE_ENV: 'production' });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual(['simulate refuses to run with NODE_ENV=production: it makes up learning activity.']);
  }, 60_000);

  it('names the URL in one line when no server answers there, and bad options in one line with the usage', async () => {
    const port = await freePort();
    const down = await runSimulate(['--actions', '1'], { SIMULATE_URL: `http://127.0.0.1:${port}/graphql` });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toEqual([`Cannot reach http://127.0.0.1:${port}/graphql (ECONNREFUSED): is the server running? Start it with npm start, or set SIMULATE_URL.`]);
    const bad = await runSimulate(['--for', 'soon'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--for takes a duration such as 500ms, 60s or 5m, not "soon".');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
