import { parseBoardMoves, type BoardMoves } from '../store/redis/boards';
import type { TopicName } from '../store/redis/keys';

/**
 * A learner script's push: "<partition>|<outbox entry json>". The partition is the doorbell
 * for the outbox consumers; the entry is parsed only by instances with a learner subscribed
 * (see LearnerFeed).
 */
export interface LearnerMessage {
  partition: number;
  json: string;
}

/**
 * The typed topic map. Each topic is one Redis channel (under KEY_PREFIX); every instance
 * SUBSCRIBEs once per topic and filters per learner or per board locally.
 */
export interface Topics {
  /** Something happened to a learner. Published by the learner scripts, in the same atomic step. */
  learner: LearnerMessage;
  /** Learners moved on a board. Published by the setBoardScores script, in board order. */
  board: BoardMoves;
  /** An admin changed the catalog; reload it. */
  catalog: { at: number };
}

export const topicNames: readonly TopicName[] = ['learner', 'board', 'catalog'];

/** Decode a channel message into its topic's payload. */
export const decoders: { [T in keyof Topics]: (message: string) => Topics[T] } = {
  learner: (m) => {
    const bar = m.indexOf('|');
    const partition = Number(m.slice(0, bar));
    if (bar <= 0 || !Number.isInteger(partition)) throw new Error('not a learner message');
    return { partition, json: m.slice(bar + 1) };
  },
  board: parseBoardMoves,
  catalog: (m) => JSON.parse(m) as { at: number },
};
