import { systemClock, type Clock } from '../domain/ports';
import type { BoardStore } from './redis/boards';
import { deleteMatching } from './redis/client';
import type { Keys } from './redis/keys';
import type { LearnerHotStore } from './redis/learners';
import type { BoardRepository } from './pg/boards';
import type { LearnerRepository } from './pg/learners';
import type { ScriptedClient } from './redis/scripts';

export interface RebuildDeps {
  redis: ScriptedClient;
  keys: Keys;
  hot: LearnerHotStore;
  repo: LearnerRepository;
  boardRepo: BoardRepository;
  boards: BoardStore;
  /** Writes everything still in the outbox to Postgres first. */
  drain: () => Promise<void>;
  /** Which period boards are still retained (the system clock when absent). */
  clock?: Clock;
}

export interface RebuildProgress {
  phase: 'learners' | 'boards';
  done: number;
  total: number;
}

/**
 * Rebuild all of Redis (learners and boards) from Postgres: drain the outbox, drop every
 * learner hash and board, hydrate every learner Postgres knows (with their scores in the periods
 * that can still change), then rebuild the global board from learner snapshots, each course board
 * from enrollments, and each period board still retained from the ledger rows that counted in it. Run it with no server up
 * (the CLI refuses otherwise): a server writing meanwhile would have its change dropped.
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
  const boardIds = await deps.boardRepo.boardIds((deps.clock ?? systemClock).now());
  onProgress({ phase: 'boards', done: 0, total: boardIds.length });
  for (const [i, id] of boardIds.entries()) {
    await deps.boards.replace(id, await deps.boardRepo.entries(id));
    onProgress({ phase: 'boards', done: i + 1, total: boardIds.length });
  }
  return { learners: done, boards: boardIds.length };
}
