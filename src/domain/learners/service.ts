import { BadInput, RateLimited } from '../errors';
import { TokenBuckets } from '../limits/rules';
import type { Clock } from '../ports';
import type { LearnerCounters } from './state';
import type { XpTransaction } from './state';
import type { LearnerReads, LedgerCursor } from '../ports';

export const MAX_PAGE = 100;

/** Opaque cursor of a ledger row: base64url of `<occurredAt>:<id>`. */
export function encodeCursor(tx: { occurredAt: number; id: string }): string {
  return Buffer.from(`${tx.occurredAt}:${tx.id}`, 'utf8').toString('base64url');
}

/** @throws BadInput for a cursor this API did not hand out */
export function decodeCursor(cursor: string, field = 'after'): LedgerCursor {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const at = raw.indexOf(':');
  const digits = raw.slice(0, at);
  const occurredAt = Number(digits);
  // Only what encodeCursor writes: decimal ms within Date's range (8.64e15), no sign, spaces or hex.
  if (at <= 0 || !/^\d{1,16}$/.test(digits) || occurredAt > 8.64e15 || raw.length === at + 1) {
    throw new BadInput('That cursor is not one this API handed out.', field);
  }
  return { occurredAt, id: raw.slice(at + 1) };
}

/** Reading learners: public lookups by id, the XP ledger page by page. */
export class LearnerService {
  private readonly lookups: TokenBuckets;
  private readonly clock: Clock;

  constructor(
    private readonly learners: LearnerReads,
    options: { clock: Clock; lookupsPerMinute: number },
  ) {
    this.clock = options.clock;
    this.lookups = new TokenBuckets(options.lookupsPerMinute);
  }

  /**
   * A learner by id for anyone (`learner(id)`): their counters, or null for a stranger. A lookup
   * Redis cannot answer asks Postgres, and those are limited per client (`LEARNER_LOOKUPS_PER_MINUTE`);
   * `client` null is a trusted caller (a service or admin token: the LMS back end, which after
   * a Redis loss may look up every learner it has), never limited.
   * @throws RateLimited past the client's budget
   */
  lookup(learnerId: string, client: string | null): Promise<LearnerCounters | null> {
    return this.learners.lookup(learnerId, () => {
      if (client === null) return;
      const waitMs = this.lookups.take(client, this.clock.now());
      if (waitMs > 0) {
        throw new RateLimited('Too many lookups of learners this server does not know; retry in a little while.', Math.max(1, Math.ceil(waitMs / 1000)));
      }
    });
  }

  /** One page of XP awards, newest first. */
  async xpHistory(learnerId: string, first: number, after: string | null): Promise<{ items: XpTransaction[]; hasNextPage: boolean }> {
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
      throw new BadInput(`first must be between 0 and ${MAX_PAGE}.`, 'first');
    }
    const cursor = after ? decodeCursor(after) : null;
    const rows = await this.learners.xpHistory(learnerId, first + 1, cursor);
    return { items: rows.slice(0, first), hasNextPage: rows.length > first };
  }
}
