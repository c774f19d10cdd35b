/**
 * Throwaway stores for fault drills: each drill starts its own `redis-server` and PostgreSQL
 * cluster on free loopback ports in temp dirs, so it can kill, stop and freeze them freely
 * without touching the shared Redis (6379) and PostgreSQL (5432). Every process starts in its
 * own process group and is remembered until `cleanUp()`, which a drill calls in `afterAll` and
 * which also runs on process exit. Signals go to the whole process tree: Postgres's backends
 * call setsid(), so a signal to the postmaster's group would not reach them.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

const PG_BIN = process.env.FAULTS_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const REDIS_SERVER = process.env.FAULTS_REDIS_SERVER ?? 'redis-server';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Process groups and temp dirs to remove at the end, whatever happened. */
const groups = new Set<number>();
const dirs = new Set<string>();

/** A process and its descendants (from /proc), parents first. */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Send a signal to a process, its descendants and its process group (what is already gone is skipped). */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  for (const p of treeOf(pid)) {
    try {
      process.kill(p, signal);
    } catch {
      // Already gone.
    }
  }
  try {
    process.kill(-pid, signal);
  } catch {
    // No group left.
  }
}

function killGroup(pid: number): void {
  signalTree(pid, 'SIGKILL');
  signalTree(pid, 'SIGCONT');
}

/** Kill every process a drill started (stopped ones too) and remove its temp dirs. */
export function cleanUp(): void {
  for (const pid of groups) killGroup(pid);
  groups.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}
process.on('exit', cleanUp);

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A temp dir removed by `cleanUp()`. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lms-faults-${name}-`));
  dirs.add(dir);
  return dir;
}

/** A child in its own process group, remembered for clean-up; its output is kept (last 64 kB). */
export interface Proc {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  alive(): boolean;
}

export function spawnGroup(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; uid?: number; gid?: number } = {}): Proc {
  const child = spawn(cmd, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  const pid = child.pid;
  groups.add(pid);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      // The group may live on (Postgres backends): clean-up still kills it; a finished leader is dropped.
      resolve(code);
    }),
  );
  return { child, pid, output: () => out, exited, alive: () => child.exitCode === null && child.signalCode === null };
}

/** SIGKILL a group and wait for its leader to exit. */
export async function killHard(proc: Proc): Promise<void> {
  killGroup(proc.pid);
  await proc.exited;
  groups.delete(proc.pid);
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- Redis

export interface RedisOptions {
  /** Extra `redis-server` arguments, e.g. ['--appendonly', 'yes', '--appendfsync', 'everysec']. */
  args?: string[];
}

/** A `redis-server` of one's own: start, kill, freeze and restart it on the same port and dir. */
export class TestRedis {
  proc: Proc | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private args: string[],
  ) {}

  static async start(options: RedisOptions = {}): Promise<TestRedis> {
    const r = new TestRedis(await freePort(), tempDir('redis'), options.args ?? []);
    await r.restart();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start (again) on the same port and dir, loading whatever RDB or AOF is there; `args` replace the extra arguments. */
  async restart(args?: string[]): Promise<void> {
    if (this.proc?.alive()) throw new Error('redis is still running');
    if (args) this.args = args;
    // Persistence off unless the drill asks for it (later arguments win).
    const base = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''];
    this.proc = spawnGroup(REDIS_SERVER, [...base, ...this.args]);
    await until(async () => (await this.ping()) === 'PONG', 10_000, `redis on ${this.port}`);
  }

  /** PING with a short timeout (null when it does not answer). */
  async ping(): Promise<string | null> {
    const c = this.client({ connectTimeout: 500, commandTimeout: 500 });
    try {
      await c.connect();
      return await c.ping();
    } catch {
      return null;
    } finally {
      c.disconnect();
    }
  }

  /** A fresh client (lazy, no retries, errors swallowed): the caller disconnects it. */
  client(options: { connectTimeout?: number; commandTimeout?: number } = {}): Redis {
    const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, ...options });
    c.on('error', () => undefined);
    return c;
  }

  /** Run one command on a short-lived connection. */
  async command<T = unknown>(...args: (string | number)[]): Promise<T> {
    const c = this.client({ connectTimeout: 2000, commandTimeout: 10_000 });
    try {
      await c.connect();
      return (await c.call(String(args[0]), ...args.slice(1))) as T;
    } finally {
      c.disconnect();
    }
  }

  async kill(): Promise<void> {
    if (this.proc) await killHard(this.proc);
  }

  /** Remove every RDB and AOF file (Redis must be stopped): the next start is empty. */
  wipe(): void {
    if (this.proc?.alive()) throw new Error('redis is still running');
    for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { recursive: true, force: true });
  }

  freeze(): void {
    signalTree(this.proc!.pid, 'SIGSTOP');
  }

  thaw(): void {
    signalTree(this.proc!.pid, 'SIGCONT');
  }
}

// ---------------------------------------------------------------- PostgreSQL

/** The uid/gid to run Postgres as: it refuses to run as root, so as root use the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** A PostgreSQL cluster of one's own (initdb into a temp dir): stop, kill, freeze and start it again. */
export class TestPostgres {
  proc: Proc | null = null;
  private constructor(
    readonly port: number,
    readonly base: string,
    private readonly user: { uid: number; gid: number } | null,
    private readonly fsync: boolean,
  ) {}

  static async start(options: { fsync?: boolean } = {}): Promise<TestPostgres> {
    const base = tempDir('pg');
    const user = postgresUser();
    if (user) chownSync(base, user.uid, user.gid);
    const p = new TestPostgres(await freePort(), base, user, options.fsync ?? false);
    execFileSync(join(PG_BIN, 'initdb'), ['-D', p.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      stdio: 'ignore',
      ...(user ?? {}),
    });
    await p.restart();
    return p;
  }

  get dataDir(): string {
    return join(this.base, 'data');
  }

  /** A database URL on this cluster. */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** Start the postmaster (again: after an immediate stop it runs crash recovery first). */
  async restart(): Promise<void> {
    if (this.proc?.alive()) throw new Error('postgres is still running');
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', this.base, '-c', 'listen_addresses=127.0.0.1', '-c', `fsync=${this.fsync ? 'on' : 'off'}`, '-c', 'max_connections=60'];
    this.proc = spawnGroup(join(PG_BIN, 'postgres'), args, this.user ?? {});
    await until(() => this.ping(), 30_000, `postgres on ${this.port}`);
  }

  /** `select 1` answers within 1 s. */
  async ping(): Promise<boolean> {
    const c = new pg.Client({ connectionString: this.url('postgres'), connectionTimeoutMillis: 1000, query_timeout: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** `pg_ctl stop -m immediate`: SIGQUIT to the postmaster, which takes its backends down without a checkpoint. */
  async stopImmediate(): Promise<void> {
    if (!this.proc) return;
    this.proc.child.kill('SIGQUIT');
    await Promise.race([this.proc.exited, sleep(10_000)]);
    // Anything left (a backend that ignored the signal) must not keep the shared memory.
    await killHard(this.proc);
    if (existsSync(join(this.dataDir, 'postmaster.pid'))) rmSync(join(this.dataDir, 'postmaster.pid'), { force: true });
  }

  freeze(): void {
    signalTree(this.proc!.pid, 'SIGSTOP');
  }

  thaw(): void {
    signalTree(this.proc!.pid, 'SIGCONT');
  }

  /** Run `sql` on a database of this cluster (short-lived connection). */
  async query<T extends pg.QueryResultRow = any>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const c = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end().catch(() => undefined);
    }
  }
}
