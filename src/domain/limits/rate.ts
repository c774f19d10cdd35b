/**
 * The token bucket behind per-learner rate limits. `src/store/redis/lua/takeTokens-1.lua` runs
 * the same arithmetic inside Redis (so every instance shares one budget); this is the rule in
 * TypeScript, pure, for tests and for reading.
 */

/** A budget: `limit` tokens per `windowMs`, refilled evenly; at most `limit` held (the burst). */
export interface RateRule {
  limit: number;
  windowMs: number;
}

/**
 * A bucket as stored: what it held at `at` (ms), in units of 1/`windowMs` token (a token is
 * `windowMs` units, a ms refills `limit` units), so every step is whole-number arithmetic and
 * nothing drifts by rounding. No bucket reads as a full one.
 */
export interface Bucket {
  units: number;
  at: number;
}

/** What taking from a bucket gave. */
export interface Take {
  /** Tokens taken: `asked`, or fewer when the bucket held fewer whole tokens (never part of one). */
  granted: number;
  /** When fewer than asked were granted: ms until the next whole token (at least 1); otherwise 0. */
  waitMs: number;
  /** The bucket to store, or null when nothing was taken (the stored one stays as it is). */
  bucket: Bucket | null;
  /** How long the stored bucket must live: until it would be full again (a missing bucket reads as full). */
  ttlMs: number;
}

/**
 * Take up to `asked` tokens at `nowMs` from `held` (null: no bucket, which is a full one).
 * A clock behind the bucket's (another instance's) counts as no time passed. Whole numbers
 * stay below 2^53 for limits up to 10^10 a window of a minute. Pure.
 */
export function takeTokens(held: Bucket | null, rule: RateRule, asked: number, nowMs: number): Take {
  const { limit, windowMs } = rule;
  const full = limit * windowMs;
  let units = full;
  let at = nowMs;
  if (held) {
    at = Math.max(held.at, nowMs);
    // A window refills it whole: longer gaps add nothing more (and keep the product small).
    units = Math.min(full, held.units + Math.min(windowMs, at - held.at) * limit);
  }
  const granted = Math.max(0, Math.min(asked, Math.floor(units / windowMs)));
  const left = units - granted * windowMs;
  const waitMs = granted < asked ? Math.ceil((windowMs - left) / limit) : 0;
  if (granted === 0) return { granted, waitMs, bucket: null, ttlMs: 0 };
  return { granted, waitMs, bucket: { units: left, at }, ttlMs: Math.ceil((full - left) / limit) };
}

/** Whole seconds a client should wait for `waitMs` (at least 1): what `extensions.retryAfter` says. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
