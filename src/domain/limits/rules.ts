/**
 * Per-client budgets: a token bucket per client key (a token's subject, or an address), `perMinute`
 * tokens refilled evenly and as many held at most (the burst). At most `maxClients` buckets are
 * kept, the least recently used forgotten first (a forgotten client starts full again). Time is
 * passed in.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxClients = 50_000,
  ) {}

  /**
   * Take one token for `client` at `nowMs`.
   * @returns 0 when taken, else how many ms until one is there (nothing taken)
   */
  take(client: string, nowMs: number): number {
    const rate = this.perMinute / 60_000;
    const seen = this.buckets.get(client);
    const tokens = seen ? Math.min(this.perMinute, seen.tokens + Math.max(0, nowMs - seen.at) * rate) : this.perMinute;
    // Most recently used last: the map's order is the eviction order.
    this.buckets.delete(client);
    if (tokens < 1) {
      this.buckets.set(client, { tokens, at: nowMs });
      return Math.ceil((1 - tokens) / rate);
    }
    if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(client, { tokens: tokens - 1, at: nowMs });
    return 0;
  }

  /** Clients with a bucket (tests). */
  size(): number {
    return this.buckets.size;
  }
}
