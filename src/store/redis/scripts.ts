import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { RedisClient } from './client';

const LUA_DIR = fileURLToPath(new URL('./lua/', import.meta.url));

/** The scripts in `lua/`, by name. The file name `<verbNoun>-<numberOfKeys>.lua` gives the key count. */
export type ScriptName =
  | 'enroll'
  | 'completeLesson'
  | 'quizAttempt'
  | 'watchLesson'
  | 'access'
  | 'login'
  | 'profile'
  | 'goal'
  | 'hydrateLearner'
  | 'replaceLearner'
  | 'readLearner'
  | 'setBoardScores'
  | 'boardPosition'
  | 'boardPage'
  | 'boardRanks'
  | 'boardAround'
  | 'installBoard'
  | 'heartbeat'
  | 'takeTokens';

type Reply = unknown;

/** The project's scripts as commands: keys first (their count comes from the file name), then args (binary ones as a Buffer). */
export type Scripts = {
  [K in ScriptName]: (...keysThenArgs: (string | number | Buffer)[]) => Promise<Reply>;
};

/**
 * A connection with the project's scripts defined on it (EVALSHA, falling back to EVAL).
 * `ScriptedRedis` is a single node, `ScriptedRedis<Cluster>` a cluster, and
 * `ScriptedRedis<RedisClient>` (= `ScriptedClient`) either.
 */
export type ScriptedRedis<C extends RedisClient = Redis> = C & Scripts;

/** A single node or a cluster, scripts defined. */
export type ScriptedClient = ScriptedRedis<RedisClient>;

/**
 * Replace `--- @include "name"` lines with `lua/includes/name.lua` (as BullMQ does); includes may
 * include others, and each is inlined once per script.
 */
function withIncludes(lua: string, seen = new Set<string>()): string {
  return lua.replace(/^--- @include "([A-Za-z]+)"$/gm, (_, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return withIncludes(readFileSync(`${LUA_DIR}includes/${name}.lua`, 'utf8'), seen);
  });
}

const sources = new Map<string, { lua: string; numberOfKeys: number }>();
for (const file of readdirSync(LUA_DIR)) {
  const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
  if (!match) continue;
  sources.set(match[1]!, { lua: withIncludes(readFileSync(LUA_DIR + file, 'utf8')), numberOfKeys: Number(match[2]) });
}

/**
 * Define every script on a connection once; callers then use typed store methods, never KEYS/ARGV.
 * A script may not take the name of a Redis command ioredis already has (`watch`, `get`, ...):
 * that name would keep the command.
 */
export function defineScripts<C extends RedisClient>(redis: C): ScriptedRedis<C> {
  // Cluster routes a script by the slot of its first key and keeps EVALSHA/NOSCRIPT per node
  // connection, exactly as Redis does per connection.
  for (const [name, def] of sources) {
    if (!(name in redis)) redis.defineCommand(name, def);
  }
  return redis as ScriptedRedis<C>;
}
