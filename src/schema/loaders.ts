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
  let lessonStates: Loaders['lessonStates'] | undefined;
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
    get lessonStates() {
      return (lessonStates ??= new DataLoader((ks) => Promise.all(ks.map((k) => reads.lessonStates(k.learnerId, k.lessonIds))), {
        cache,
        maxBatchSize: MAX_BATCH,
        cacheKeyFn: (k) => `${k.learnerId}\u0000${k.lessonIds.join(',')}`,
      }));
    },
  };
}
