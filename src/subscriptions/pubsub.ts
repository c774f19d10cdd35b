import type { EventPublisher } from '../domain/ports';
import type { Logger } from '../logger';
import type { Keys } from '../store/redis/keys';
import type { RedisClient } from '../store/redis/client';
import { decoders, topicNames, type Topics } from './topics';

type Handler<T extends keyof Topics> = (payload: Topics[T]) => void;

/**
 * Typed pub/sub over Redis: one SUBSCRIBE per topic per instance, never per client.
 * Local handlers do the per-learner and per-board filtering.
 */
export class RedisPubSub implements EventPublisher {
  private readonly handlers: { [T in keyof Topics]: Set<Handler<T>> } = {
    learner: new Set(),
    board: new Set(),
    catalog: new Set(),
  };
  private readonly channelTopic = new Map<string, keyof Topics>();

  constructor(
    private readonly pub: RedisClient,
    /** A connection used for nothing but SUBSCRIBE. */
    private readonly sub: RedisClient,
    private readonly keys: Keys,
    private readonly log: Logger,
  ) {
    for (const t of topicNames) this.channelTopic.set(keys.channel(t), t as keyof Topics);
    this.sub.on('message', (channel: string, message: string) => this.dispatch(channel, message));
  }

  /** Subscribe this instance to every topic. */
  async start(): Promise<void> {
    await this.sub.subscribe(...this.channelTopic.keys());
  }

  async stop(): Promise<void> {
    await this.sub.unsubscribe().catch(() => undefined);
  }

  /** Listen to a topic on this instance. @returns a function that stops listening */
  on<T extends keyof Topics>(topic: T, handler: Handler<T>): () => void {
    const set = this.handlers[topic] as Set<Handler<T>>;
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Tell every instance the catalog changed. (Learner and board messages come from the Lua scripts.) */
  async catalogChanged(): Promise<void> {
    await this.pub.publish(this.keys.channel('catalog'), JSON.stringify({ at: Date.now() }));
  }

  private dispatch(channel: string, message: string): void {
    const topic = this.channelTopic.get(channel);
    if (!topic) return;
    let payload: Topics[typeof topic];
    try {
      payload = decoders[topic](message);
    } catch (err) {
      this.log.warn({ err, channel }, 'pubsub: undecodable message dropped');
      return;
    }
    for (const handler of this.handlers[topic] as Set<Handler<typeof topic>>) {
      try {
        handler(payload);
      } catch (err) {
        this.log.error({ err, topic }, 'pubsub: handler failed');
      }
    }
  }
}
