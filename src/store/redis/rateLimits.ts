import type { RateRule } from '../../domain/limits/rate';
import type { CallerKind, LimitedAction, RateLimitStore } from '../../domain/limits/service';
import type { Keys } from './keys';
import type { ScriptedClient } from './scripts';

/**
 * Rate-limit buckets in Redis (lua/takeTokens-1.lua): one hash per learner, action and kind of
 * caller, in the learner's partition, expiring once full again. Every instance shares them.
 */
export class RedisRateLimits implements RateLimitStore {
  constructor(
    private readonly redis: ScriptedClient,
    private readonly keys: Keys,
  ) {}

  /**
   * Take up to `asked` tokens from the learner's bucket, atomically.
   * @throws the connection's error when Redis cannot be reached (a request answers UNAVAILABLE)
   */
  async take(learnerId: string, action: LimitedAction, caller: CallerKind, rule: RateRule, asked: number, nowMs: number): Promise<{ granted: number; waitMs: number }> {
    const [granted, waitMs] = (await this.redis.takeTokens(this.keys.rateBucket(learnerId, action, caller), rule.limit, rule.windowMs, asked, nowMs)) as [number, number];
    return { granted, waitMs };
  }
}
