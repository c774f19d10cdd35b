import type { LearnerEvent } from '../domain/events';
import { parseBoardMove, type BoardMove } from '../store/redis/boards';
import type { TopicName } from '../store/redis/keys';

/**
 * The typed topic map. Each topic is one Redis channel (under KEY_PREFIX); every instance
 * SUBSCRIBEs once per topic and filters per learner or per board locally.
 */
export interface Topics {
  /** Something happened to a learner (XP, level, badge). Published by the domain. */
  learner: LearnerEvent;
  /** A learner moved on a board. Published by the setBoardScore Lua script, in board order. */
  board: BoardMove;
  /** An admin changed the catalog; reload it. */
  catalog: { at: number };
}

export const topicNames: readonly TopicName[] = ['learner', 'board', 'catalog'];

/** Decode a channel message into its topic's payload. */
export const decoders: { [T in keyof Topics]: (message: string) => Topics[T] } = {
  learner: (m) => JSON.parse(m) as LearnerEvent,
  board: parseBoardMove,
  catalog: (m) => JSON.parse(m) as { at: number },
};
