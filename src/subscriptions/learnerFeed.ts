import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { Logger } from '../logger';
import type { OutboxEntryData } from '../store/outbox/entry';
import type { RedisPubSub } from './pubsub';

/** A slow client keeps only its newest messages instead of growing without bound. */
export const LEARNER_BUFFER = 256;

/**
 * What happened to a learner: the outbox entry of the event, as its script pushed it. Parsed
 * only on instances with at least one learner subscribed (every learner's messages then: the
 * learner id is inside the entry).
 */
export type LearnerUpdate = OutboxEntryData;

/**
 * A learner's own updates on this instance. Messages from the one `learner` channel are
 * dispatched to the learner's local subscribers through a map, so each costs O(its subscribers).
 */
export class LearnerFeed {
  private readonly byLearner = new Map<string, Set<(u: LearnerUpdate) => void>>();

  constructor(
    pubsub: RedisPubSub,
    private readonly log: Logger,
  ) {
    pubsub.on('learner', (message) => {
      if (this.byLearner.size === 0) return;
      let update: LearnerUpdate;
      try {
        update = JSON.parse(message.json) as LearnerUpdate;
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'learner feed: undecodable message dropped');
        return;
      }
      for (const push of this.byLearner.get(update.l) ?? []) push(update);
    });
  }

  /** Updates of one learner until the client goes away. */
  updates(learnerId: string): AsyncIterableIterator<LearnerUpdate> {
    return new Repeater<LearnerUpdate>(async (push, stop) => {
      const handler = (u: LearnerUpdate) => void push(u);
      let set = this.byLearner.get(learnerId);
      if (!set) this.byLearner.set(learnerId, (set = new Set()));
      set.add(handler);
      await stop;
      set.delete(handler);
      if (set.size === 0) this.byLearner.delete(learnerId);
    }, new SlidingBuffer(LEARNER_BUFFER));
  }

  /** Whether a learner has a live subscription on this instance (tests, metrics). */
  listening(learnerId: string): boolean {
    return this.byLearner.has(learnerId);
  }
}
