import DataLoader from 'dataloader';
import type { ActivityService } from '../domain/activity/service';
import type { LearnerReads } from '../domain/ports';
import type { Loaders } from './context';

/** Learners read in one tick of one request share one round trip per part. */
const MAX_BATCH = 200;

/** Per-request loaders over the learner store; `cache` keeps a value for the rest of the request. */
export function createLoaders(reads: LearnerReads, cache: boolean, activity: ActivityService, now: () => number = Date.now): Loaders {
  // Made on first use: most requests need one of them, or none.
  let counters: Loaders['counters'] | undefined;
  let enrollments: Loaders['enrollments'] | undefined;
  let badges: Loaders['badges'] | undefined;
  let lessonStates: Loaders['lessonStates'] | undefined;
  let statCounters: Loaders['statCounters'] | undefined;
  let activityTotals: Loaders['activityTotals'] | undefined;
  let engagement: Loaders['engagement'] | undefined;
  const loaders: Loaders = {
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
    get statCounters() {
      return (statCounters ??= new DataLoader((ids) => Promise.all(ids.map((id) => reads.statCounters(id))), { cache, maxBatchSize: MAX_BATCH }));
    },
    get activityTotals() {
      // The learner's version in Redis comes with the stats' counters (one HMGET, shared with stats).
      return (activityTotals ??= new DataLoader(
        (ids) => Promise.all(ids.map(async (id) => activity.totals(id, (await loaders.statCounters.load(id)).version))),
        { cache, maxBatchSize: MAX_BATCH },
      ));
    },
    get engagement() {
      return (engagement ??= new DataLoader((ids) => Promise.all(ids.map((id) => reads.engagement(id, now()))), { cache, maxBatchSize: MAX_BATCH }));
    },
  };
  return loaders;
}
