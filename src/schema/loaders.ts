import DataLoader from 'dataloader';
import type { LearnerReads } from '../domain/ports';
import type { Loaders } from './context';

/** Learners read in one tick of one request share one round trip per part. */
const MAX_BATCH = 200;

/** Per-request loaders over the learner store; `cache` keeps a value for the rest of the request. */
export function createLoaders(reads: LearnerReads, cache: boolean): Loaders {
  // Made on first use: most requests need one of them, or none.
  let counters: Loaders['counters'] | undefined;
  let enrollments: Loaders['enrollments'] | undefined;
  let badges: Loaders['badges'] | undefined;
  return {
    get counters() {
      return (counters ??= new DataLoader((ids) => reads.counters(ids), { cache, maxBatchSize: MAX_BATCH }));
    },
    get enrollments() {
      return (enrollments ??= new DataLoader((ids) => Promise.all(ids.map((id) => reads.enrollments(id))), { cache, maxBatchSize: MAX_BATCH }));
    },
    get badges() {
      return (badges ??= new DataLoader((ids) => Promise.all(ids.map((id) => reads.badges(id))), { cache, maxBatchSize: MAX_BATCH }));
    },
  };
}
