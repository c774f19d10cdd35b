import type { Knex } from '@mikro-orm/postgresql';
import { boardIdOf } from '../domain/boards/rules';
import type { BoardStore } from './redis/boards';
import { deleteMatching } from './redis/client';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import type { LearnerRepository } from './pg/learners';
import type { ScriptedRedis } from './redis/scripts';

export interface RebuildDeps {
  redis: ScriptedRedis;
  keys: Keys;
  knex: Knex;
  hot: LearnerHotStore;
  repo: LearnerRepository;
  boards: BoardStore;
  /** Writes everything still in the outbox to Postgres first. */
  drain: () => Promise<void>;
}

export interface RebuildProgress {
  phase: 'learners' | 'boards';
  done: number;
  total: number;
}

/**
 * Rebuild all of Redis (learners and boards) from Postgres: drain the outbox, drop every
 * learner hash and board, hydrate every learner Postgres knows, then rebuild the global board
 * from learner snapshots and each course board from enrollments.
 * @returns learners and boards written
 */
export async function rebuildCache(deps: RebuildDeps, onProgress: (p: RebuildProgress) => void = () => undefined): Promise<{ learners: number; boards: number }> {
  await deps.drain();
  const total = await deps.repo.countLearners();
  await deleteMatching(deps.redis, deps.keys.learnerPattern());
  let done = 0;
  onProgress({ phase: 'learners', done, total });
  for await (const page of deps.repo.learnerIds(500)) {
    const states = await Promise.all(page.map((id) => deps.repo.load(id)));
    await Promise.all(states.map((s) => (s ? deps.hot.hydrate(s) : false)));
    done += page.length;
    onProgress({ phase: 'learners', done, total });
  }

  await deps.boards.clearAll();
  const boards: { id: string; rows: { learnerId: string; score: number; reachedAt: number; version: number }[] }[] = [];
  const toMs = (v: unknown) => Math.round(Number(v));
  const global = (await deps.knex('learners')
    .select('id', 'total_xp', 'version', deps.knex.raw('(extract(epoch from xp_reached_at) * 1000)::float8 as at'))
    .where('total_xp', '>', 0)) as { id: string; total_xp: number; version: number; at: number | null }[];
  boards.push({
    id: boardIdOf({ period: 'ALL_TIME', courseId: null }),
    rows: global.map((r) => ({ learnerId: r.id, score: r.total_xp, reachedAt: toMs(r.at ?? 0), version: r.version })),
  });
  const perCourse = (await deps.knex('enrollments')
    .select('learner_id', 'course_id', 'xp_earned', 'version', deps.knex.raw('(extract(epoch from xp_reached_at) * 1000)::float8 as at'))
    .where('xp_earned', '>', 0)
    .orderBy('course_id')) as { learner_id: string; course_id: string; xp_earned: number; version: number; at: number | null }[];
  const byCourse = new Map<string, typeof boards[number]['rows']>();
  for (const r of perCourse) {
    const rows = byCourse.get(r.course_id) ?? [];
    rows.push({ learnerId: r.learner_id, score: r.xp_earned, reachedAt: toMs(r.at ?? 0), version: r.version });
    byCourse.set(r.course_id, rows);
  }
  for (const [courseId, rows] of byCourse) boards.push({ id: boardIdOf({ period: 'ALL_TIME', courseId }), rows });

  onProgress({ phase: 'boards', done: 0, total: boards.length });
  for (let i = 0; i < boards.length; i += 1) {
    await deps.boards.replace(boards[i]!.id, boards[i]!.rows);
    onProgress({ phase: 'boards', done: i + 1, total: boards.length });
  }
  return { learners: done, boards: boards.length };
}
