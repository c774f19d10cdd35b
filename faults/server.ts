/**
 * The real server process (`node --import tsx src/main.ts`, as `npm start` runs it) against a
 * drill's own stores, and the tokens and catalog a drill needs.
 */
import { fileURLToPath } from 'node:url';
import { signToken } from '../src/domain/auth/tokens';
import { freePort, killHard, sleep, spawnGroup, type Proc } from './stores';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SECRET = 'fault-drill-secret-0123456789-0123456789';

/** What every server of a drill shares: its stores and key prefix. */
export interface Deployment {
  redisUrl: string;
  databaseUrl: string;
  keyPrefix: string;
  partitions: number;
}

/** The environment the server and the CLIs (verify, rebuild-cache) read, with `extra` on top. */
export function envOf(d: Deployment, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    REDIS_URL: d.redisUrl,
    DATABASE_URL: d.databaseUrl,
    KEY_PREFIX: d.keyPrefix,
    PARTITIONS: String(d.partitions),
    JWT_SECRET: SECRET,
    LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn',
    DEMO_CATALOG: 'false',
    ...extra,
  };
}

export class ServerProcess {
  proc: Proc | null = null;
  constructor(
    readonly d: Deployment,
    readonly port: number,
    private readonly extra: Record<string, string> = {},
  ) {}

  static async create(d: Deployment, extra: Record<string, string> = {}): Promise<ServerProcess> {
    return new ServerProcess(d, await freePort(), extra);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Start and wait until `/health` answers. @throws with the server's output when it exits or does not listen in time */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.proc?.alive()) throw new Error('server is still running');
    const proc = spawnGroup(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: envOf(this.d, { PORT: String(this.port), ...this.extra }) });
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!proc.alive()) throw new Error(`server exited at start-up:\n${proc.output().slice(-2000)}`);
      try {
        const res = await fetch(`${this.base}/health`, { signal: AbortSignal.timeout(1000) });
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`server did not listen within ${timeoutMs} ms:\n${proc.output().slice(-2000)}`);
      await sleep(100);
    }
  }

  /** SIGKILL: no drain, no goodbye. */
  async kill(): Promise<void> {
    if (this.proc) await killHard(this.proc);
  }

  /** SIGTERM and wait for the exit code (the server drains the outbox first). */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    const proc = this.proc;
    if (!proc?.alive()) return proc ? proc.child.exitCode : null;
    proc.child.kill('SIGTERM');
    const code = await Promise.race([proc.exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      await killHard(proc);
      throw new Error(`server did not stop within ${timeoutMs} ms after SIGTERM`);
    }
    await killHard(proc);
    return code;
  }

  output(): string {
    return this.proc?.output() ?? '';
  }
}

/** A service token (may act for any learner) and an admin token, signed with the drill secret. */
export async function drillTokens(): Promise<{ service: string; admin: string }> {
  return {
    service: await signToken('fault-drill-backend', { secret: SECRET, roles: ['service'] }),
    admin: await signToken('fault-drill-admin', { secret: SECRET, roles: ['admin'] }),
  };
}

/** A drill course: `lessons` lessons in one module, each paying `xp`; ids `<id>-l<n>`. */
export function drillCourse(id: string, lessons: number, xp: number): { input: Record<string, unknown>; lessonIds: string[] } {
  const lessonIds = Array.from({ length: lessons }, (_, i) => `${id}-l${i + 1}`);
  return {
    lessonIds,
    input: {
      id,
      title: `Drill course ${id}`,
      description: null,
      modules: [
        {
          id: `${id}-m1`,
          title: 'Module 1',
          lessons: lessonIds.map((lessonId, i) => ({ id: lessonId, title: `Lesson ${i + 1}`, kind: 'READING', durationSeconds: 60, xpReward: xp })),
          // One quiz, attempted by the loads that ask for it (`loadFor(..., { quizzes: true })`).
          quizzes: [{ id: `${id}-q1`, title: 'Quiz 1', passScore: 70, xpReward: QUIZ_XP }],
        },
      ],
    },
  };
}

/** XP of the drill course's quiz on the first pass. */
export const QUIZ_XP = 15;
