/**
 * Every Redis key and channel the service uses, under one prefix (`KEY_PREFIX`).
 *
 * Learners are spread over a fixed number of partitions, `p = fnv1a(learnerId) mod P`. A
 * learner's keys and their partition's outbox stream carry the partition's hash tag
 * (`lms:{p17}:learner:alice`, `lms:{p17}:outbox`), so every learner script touches one slot.
 * A board's keys share the board's own tag (`lms:{b:g:all}:z`). Nothing touches two slots, so
 * the layout runs on Redis Cluster (`npm run test:cluster` keeps that true).
 *
 * Names cannot collide: the key type comes before the id, a key holds at most one id that is
 * not length-prefixed and that one comes last, and the prefix cannot hold a brace. So learner
 * `x:outbox` has the key `…:learner:x:outbox`, never `…:outbox`, and the event record of
 * learner `a:b` and event `c` (`…:event:3:a:b:c`) differs from that of learner `a` and event
 * `b:c` (`…:event:1:a:b:c`).
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
  ) {
    if (/[{}]/.test(prefix)) throw new Error('A key prefix cannot hold braces: they would change the hash slot.');
  }

  /** The partition a learner lives in. */
  partitionOf(learnerId: string): number {
    return fnv1a(learnerId) % this.partitions;
  }

  /** The hash tag of a partition (`<prefix>{p17}`). */
  partitionTag(p: number): string {
    return `${this.prefix}{p${p}}`;
  }

  /** Hash holding all of one learner's hot state (one key, so eviction is all or nothing). */
  learner(learnerId: string): string {
    return `${this.partitionTag(this.partitionOf(learnerId))}:learner:${learnerId}`;
  }

  /** The record of a caller's event id (its first result), kept for the dedupe window. */
  eventRecord(learnerId: string, eventId: string): string {
    return `${this.partitionTag(this.partitionOf(learnerId))}:event:${learnerId.length}:${learnerId}:${eventId}`;
  }

  /**
   * A learner's rate-limit bucket for one action and kind of caller (`learner`, `service`), in
   * the learner's partition. Action and caller are names of letters from fixed lists; the
   * learner id comes last, length-prefixed.
   */
  rateBucket(learnerId: string, action: string, caller: string): string {
    if (!/^[A-Za-z]+$/.test(action) || !/^[A-Za-z]+$/.test(caller)) throw new Error(`Not a rate-limit budget: ${action}, ${caller}`);
    return `${this.partitionTag(this.partitionOf(learnerId))}:rate:${action}:${caller}:${learnerId.length}:${learnerId}`;
  }

  /** The outbox stream of a partition. */
  outbox(partition: number): string {
    return `${this.partitionTag(partition)}:outbox`;
  }

  /** The outbox stream of a learner's partition. */
  outboxOf(learnerId: string): string {
    return this.outbox(this.partitionOf(learnerId));
  }

  /** Outbox entries a consumer gave up on, with their error (bounded). */
  deadLetters(partition: number): string {
    return `${this.partitionTag(partition)}:deadletter`;
  }

  /** Every partition number. */
  allPartitions(): number[] {
    return Array.from({ length: this.partitions }, (_, p) => p);
  }

  /** A board's sorted set and its meta hash (member, score and version of each learner; seq, epoch). */
  board(boardId: string): { z: string; meta: string; tag: string } {
    const tag = `${this.prefix}{b:${boardId}}`;
    return { z: `${tag}:z`, meta: `${tag}:meta`, tag };
  }

  /** Pattern matching every board key (for rebuilds). */
  boardPattern(): string {
    return `${this.prefix}{b:*`;
  }

  /** Pattern matching every learner hash (for rebuilds and tests). */
  learnerPattern(): string {
    return `${this.prefix}{p*}:learner:*`;
  }

  /** The learner id in a learner hash key (`<prefix>{p17}:learner:<id>`); null for other keys. */
  learnerOfKey(key: string): string | null {
    if (!key.startsWith(`${this.prefix}{p`)) return null;
    const at = key.indexOf('}:learner:', this.prefix.length);
    return at < 0 ? null : key.slice(at + '}:learner:'.length);
  }

  /** The board id in a board's meta key (`<prefix>{b:<id>}:meta`); null for staging and other keys. */
  boardOfMetaKey(key: string): string | null {
    const head = `${this.prefix}{b:`;
    if (!key.startsWith(head) || !key.endsWith('}:meta')) return null;
    const id = key.slice(head.length, -'}:meta'.length);
    return id.includes('}') ? null : id;
  }

  /**
   * Sorted set of live members (member: instance name, score: expiry ms): `servers` for every
   * running server, and one per outbox consumer group for the instances running it.
   */
  members(set: string): string {
    return `${this.prefix}members:${set}`;
  }

  /** Held (with a TTL, refreshed) while rebuild-cache runs: servers do not start meanwhile. */
  rebuilding(): string {
    return `${this.prefix}rebuilding`;
  }

  /** The Redis incarnation (run ids) last checked against Postgres's watermarks (src/store/rollback.ts). */
  rollbackChecked(): string {
    return `${this.prefix}rollback:checked`;
  }

  /** Held while one instance runs that check. */
  rollbackLock(): string {
    return `${this.prefix}rollback:lock`;
  }

  /** Settings fixed for the life of a deployment (e.g. the partition count). */
  deployment(): string {
    return `${this.prefix}deployment`;
  }

  /** Pub/sub channel of a topic: one per topic, never per learner. */
  channel(topic: TopicName): string {
    return `${this.prefix}topic:${topic}`;
  }
}
