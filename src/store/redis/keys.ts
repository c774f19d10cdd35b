/**
 * Every Redis key and channel the service uses, under one prefix (`KEY_PREFIX`).
 *
 * Learners are spread over a fixed number of partitions, `p = fnv1a(learnerId) mod P`.
 * A learner's keys and their partition's outbox stream carry the partition's hash tag
 * (`lms:{p17}:u:alice`, `lms:{p17}:outbox`), so every learner script touches one slot and
 * the layout runs on Redis Cluster unchanged. A board's keys share the board's own tag.
 */

/** 32-bit FNV-1a over the UTF-8 bytes of `s`. Stable across processes and versions. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export type TopicName = 'learner' | 'board' | 'catalog';

export class Keys {
  constructor(
    readonly prefix: string,
    readonly partitions: number,
  ) {}

  /** The partition a learner lives in. */
  partitionOf(learnerId: string): number {
    return fnv1a(learnerId) % this.partitions;
  }

  private tag(p: number): string {
    return `${this.prefix}{p${p}}`;
  }

  /** Hash holding all of one learner's hot state (one key, so eviction is all or nothing). */
  learner(learnerId: string): string {
    return `${this.tag(this.partitionOf(learnerId))}:u:${learnerId}`;
  }

  /** List of the learner's newest XP awards (read-your-writes for `xpHistory`). */
  recentXp(learnerId: string): string {
    return `${this.tag(this.partitionOf(learnerId))}:u:${learnerId}:xp`;
  }

  /** The outbox stream of a partition. */
  outbox(partition: number): string {
    return `${this.tag(partition)}:outbox`;
  }

  /** The outbox stream of a learner's partition. */
  outboxOf(learnerId: string): string {
    return this.outbox(this.partitionOf(learnerId));
  }

  /** Every partition's outbox stream. */
  outboxes(): string[] {
    return Array.from({ length: this.partitions }, (_, p) => this.outbox(p));
  }

  /** A board's sorted set and its meta hash (member of each learner, version guard, sequence). */
  board(boardId: string): { z: string; meta: string } {
    const tag = `${this.prefix}{b:${boardId}}`;
    return { z: `${tag}:z`, meta: `${tag}:meta` };
  }

  /** Pattern matching every board key (for rebuilds). */
  boardPattern(): string {
    return `${this.prefix}{b:*`;
  }

  /** Pub/sub channel of a topic: one per topic, never per learner. */
  channel(topic: TopicName): string {
    return `${this.prefix}topic:${topic}`;
  }

  /** Pattern matching every learner hash (for rebuilds and tests). */
  learnerPattern(): string {
    return `${this.prefix}{p*}:u:*`;
  }
}
