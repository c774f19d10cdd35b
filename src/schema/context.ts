import type { EngagementService } from '../domain/engagement/service';
import type { EngagementFacts } from '../domain/engagement/facts';
import type DataLoader from 'dataloader';
import type { ActivityService, ActivityTotals } from '../domain/activity/service';
import type { Viewer } from '../domain/auth/viewer';
import type { BadgeService } from '../domain/badges/service';
import type { BoardService } from '../domain/boards/service';
import type { CatalogService } from '../domain/catalog/service';
import type { EventService } from '../domain/events/service';
import type { LearnerService } from '../domain/learners/service';
import type { ActionLimits } from '../domain/limits/service';
import type { EnrollmentState, LearnerCounters, StatCounters } from '../domain/learners/state';
import type { Clock } from '../domain/ports';
import type { LessonState } from '../domain/progress/lessons';
import type { ProgressService } from '../domain/progress/service';
import type { BoardFeeds } from '../subscriptions/feeds';
import type { LearnerFeed } from '../subscriptions/learnerFeed';

/** The domain services resolvers call. Built once per process in app.ts. */
export interface Services {
  catalog: CatalogService;
  events: EventService;
  progress: ProgressService;
  engagement: EngagementService;
  badges: BadgeService;
  learners: LearnerService;
  activity: ActivityService;
  boards: BoardService;
  /** Per-learner rate limits on learner actions. */
  limits: ActionLimits;
  feeds: { learner: LearnerFeed; boards: BoardFeeds };
  clock: Clock;
}

/**
 * Per-request (or per-subscription-event) loaders: reads of one tick go out together, and each
 * reads only its part of a learner (counters, enrollments, badges), never the whole history.
 */
export interface Loaders {
  /** Counters of learners known anywhere; null for strangers. */
  counters: DataLoader<string, LearnerCounters | null>;
  enrollments: DataLoader<string, EnrollmentState[]>;
  /** badgeId -> awardedAt */
  badges: DataLoader<string, Map<string, number>>;
  /** Per learner and lessons asked: completion, watched seconds, last watch (one HMGET each). */
  lessonStates: DataLoader<LessonStatesKey, Map<string, LessonState>, string>;
  /** The hash counters of LearnerStats (one HMGET each). */
  statCounters: DataLoader<string, StatCounters>;
  /**
   * The learner's activity totals once Postgres holds their last change (the read-your-writes
   * barrier of stats, activityCalendar and recentActivity: paid once per request).
   */
  activityTotals: DataLoader<string, ActivityTotals>;
  /** Display name, zone history and streak facts (one HMGET each), read at the request's time. */
  engagement: DataLoader<string, EngagementFacts>;
}

/** A learner and the lessons a read needs from their hash. */
export interface LessonStatesKey {
  learnerId: string;
  lessonIds: readonly string[];
}

export interface Context {
  viewer: Viewer | null;
  services: Services;
  loaders: Loaders;
  requestId: string;
  /** Who is asking, for per-client limits: `sub:<learner id>` with a token, else `ip:<address>`. */
  client: string;
}
