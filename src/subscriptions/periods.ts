import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { Clock } from '../domain/ports';

/** While waiting for a period to end, the clock is looked at again at least this often (it may jump: NTP, tests). */
const RECHECK_MS = 60_000;

/**
 * A feed of the current period's board that rolls over by itself: `open` feeds the board
 * `current()` names until its period ends by `clock`, then the next period's board, and so on,
 * until the client leaves. A period board subscribed without a period key (`leaderboardChanged`
 * sends the new period's top, empty, at once) follows this way; with a key it stays on that
 * period.
 */
export function followPeriods<T>(
  current: () => { id: string; endsAt: number },
  open: (boardId: string) => AsyncIterableIterator<T>,
  clock: Clock,
  buffer: number,
): AsyncIterableIterator<T> {
  return new Repeater<T>(async (push, stop) => {
    let stopped = false;
    void stop.then(() => {
      stopped = true;
    });
    try {
      while (!stopped) {
        const board = current();
        const feed = open(board.id);
        let timer: NodeJS.Timeout | undefined;
        const ended = new Promise<'ended'>((resolve) => {
          const arm = () => {
            const wait = board.endsAt - clock.now();
            if (wait <= 0) resolve('ended');
            else timer = setTimeout(arm, Math.min(wait, RECHECK_MS));
          };
          arm();
        });
        const pumped = (async () => {
          for (;;) {
            const r = await feed.next();
            if (r.done) return 'done' as const;
            void push(r.value);
          }
        })();
        pumped.catch(() => undefined);
        try {
          const why = await Promise.race([ended, stop.then(() => 'stopped' as const), pumped]);
          if (why === 'done') stopped = true;
        } finally {
          clearTimeout(timer);
          await feed.return?.();
        }
      }
      await stop();
    } catch (err) {
      await stop(err as Error);
    }
  }, new SlidingBuffer(buffer));
}
