import { actingFor, requireViewer, type Viewer } from '../auth/viewer';
import { quoted, RateLimited } from '../errors';
import type { Clock } from '../ports';
import { retryAfterSeconds, type RateRule } from './rate';

/** The learner actions with a budget of their own (`recordEvents` counts events, the others calls). */
export const LIMITED_ACTIONS = ['enroll', 'completeLesson', 'recordWatchTime', 'submitQuizAttempt', 'recordEvents', 'updateProfile', 'setDailyGoal'] as const;
export type LimitedAction = (typeof LIMITED_ACTIONS)[number];

/** Learners acting for themselves, or service (and admin) callers acting for a learner: separate budgets. */
export type CallerKind = 'learner' | 'service';

/** Every budget's window: limits are per minute. */
export const RATE_WINDOW_MS = 60_000;

/** The budgets (config `rateLimits`). */
export interface RateBudgets {
  /** False: nothing is limited (benchmarks). */
  enabled: boolean;
  /** Per action, what a learner may do per minute (events for recordEvents); 0: unlimited. */
  perMinute: Record<LimitedAction, number>;
  /** A service or admin caller's budget for each learner is this many times a learner's; 0: unlimited. */
  serviceFactor: number;
}

/** Where budgets are kept, shared by every instance (Redis: src/store/redis/rateLimits.ts). */
export interface RateLimitStore {
  /**
   * Take up to `asked` tokens from the bucket of (learner, action, caller) under `rule` at `nowMs`.
   * @returns how many were granted and, when fewer than asked, the ms until the next one
   */
  take(learnerId: string, action: LimitedAction, caller: CallerKind, rule: RateRule, asked: number, nowMs: number): Promise<{ granted: number; waitMs: number }>;
}

/** What the refusals call each action, in "too many ..." (a learner's words). */
const NOUNS: Record<LimitedAction, string> = {
  enroll: 'enrollments',
  completeLesson: 'lesson completions',
  recordWatchTime: 'watch-time updates',
  submitQuizAttempt: 'quiz attempts',
  recordEvents: 'events',
  updateProfile: 'profile changes',
  setDailyGoal: 'goal changes',
};

/**
 * Per-learner rate limits on learner actions: each (learner, action) has a token bucket in the
 * store, one for the learner's own calls and one, larger, for service callers acting for them.
 * Taken before anything is applied, so a refused action changes nothing.
 */
export class ActionLimits {
  constructor(
    private readonly store: RateLimitStore,
    private readonly budgets: RateBudgets,
    private readonly clock: Clock,
  ) {}

  /** The budget of `action` for a kind of caller, or null when it is unlimited. Pure. */
  ruleFor(action: LimitedAction, caller: CallerKind): RateRule | null {
    if (!this.budgets.enabled) return null;
    const perMinute = this.budgets.perMinute[action];
    const limit = caller === 'service' ? perMinute * this.budgets.serviceFactor : perMinute;
    return limit > 0 ? { limit, windowMs: RATE_WINDOW_MS } : null;
  }

  /**
   * The learner an action acts for (see `actingFor`), after taking one action from their
   * budget for it.
   * @throws Unauthenticated, Forbidden, BadInput as `actingFor`; RateLimited past the budget;
   *   the store's error when it cannot be reached (UNAVAILABLE through the error translator)
   */
  async actingFor(viewer: Viewer | null, requested: string | null | undefined, action: LimitedAction): Promise<string> {
    const v = requireViewer(viewer);
    const learnerId = actingFor(v, requested);
    const [refusal] = await this.takeEach(v, [learnerId], action);
    if (refusal) throw refusal;
    return learnerId;
  }

  /**
   * One token per entry of `learnerIds` (one per event of a batch, in order): each learner's
   * entries take from their own bucket at once, the first ones granted.
   * @returns per entry, null when granted, else its RateLimited refusal
   */
  async takeEach(viewer: Viewer, learnerIds: readonly string[], action: LimitedAction): Promise<(RateLimited | null)[]> {
    const caller = callerKindOf(viewer);
    const rule = this.ruleFor(action, caller);
    const out: (RateLimited | null)[] = learnerIds.map(() => null);
    if (!rule) return out;
    const positions = new Map<string, number[]>();
    learnerIds.forEach((id, i) => {
      const list = positions.get(id);
      if (list) list.push(i);
      else positions.set(id, [i]);
    });
    const now = this.clock.now();
    await Promise.all(
      [...positions].map(async ([learnerId, at]) => {
        const { granted, waitMs } = await this.store.take(learnerId, action, caller, rule, at.length, now);
        if (granted >= at.length) return;
        const seconds = retryAfterSeconds(waitMs);
        const refusal = new RateLimited(
          `Too many ${NOUNS[action]} for learner "${quoted(learnerId)}" in a short time (at most ${rule.limit} a minute); try again in ${seconds} s.`,
          seconds,
        );
        for (const i of at.slice(granted)) out[i] = refusal;
      }),
    );
    return out;
  }
}

/** Service and admin tokens have the service budgets; everyone else a learner's. */
export function callerKindOf(viewer: Viewer): CallerKind {
  return viewer.roles.has('service') || viewer.roles.has('admin') ? 'service' : 'learner';
}
