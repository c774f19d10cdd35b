import type DataLoader from 'dataloader';
import type { Viewer } from '../domain/auth/viewer';
import type { BadgeService } from '../domain/badges/service';
import type { BoardService } from '../domain/boards/service';
import type { CatalogService } from '../domain/catalog/service';
import type { LearnerService } from '../domain/learners/service';
import type { LearnerState } from '../domain/learners/state';
import type { Clock } from '../domain/ports';
import type { ProgressService } from '../domain/progress/service';
import type { BoardFeeds, LearnerFeed } from '../subscriptions/feeds';

/** The domain services resolvers call. Built once per process in app.ts. */
export interface Services {
  catalog: CatalogService;
  progress: ProgressService;
  learners: LearnerService;
  boards: BoardService;
  badges: BadgeService;
  feeds: { learner: LearnerFeed; boards: BoardFeeds };
  clock: Clock;
}

/** Per-request (or per-subscription) loaders; they batch reads of one tick into one round trip. */
export interface Loaders {
  learner: DataLoader<string, LearnerState | null>;
}

export interface Context {
  viewer: Viewer | null;
  services: Services;
  loaders: Loaders;
  requestId: string;
}
