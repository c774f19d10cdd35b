import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** How log lines are written: one JSON object a line, or pino-pretty's coloured lines for a person. */
export type LogFormat = 'json' | 'pretty';

/**
 * Structured logs (JSON lines, or pretty lines for a terminal in development). Authorization
 * headers and tokens are redacted wherever they appear, so a log line never holds a credential.
 */
export function createLogger(level: string, name = 'lms', destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  let fallback: string | null = null;
  if (format === 'pretty' && !destination) {
    // A development dependency: an image without it (production) keeps JSON lines.
    try {
      const pretty = createRequire(import.meta.url)('pino-pretty') as (options: Record<string, unknown>) => DestinationStream;
      // Synchronous: a development terminal, and the last lines before an exit are never lost.
      destination = pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true });
    } catch {
      fallback = 'LOG_FORMAT=pretty but pino-pretty is not installed (a development dependency): logging JSON lines';
    }
  }
  const log = pino(
    {
    name,
    level,
    redact: {
      paths: [
        'authorization',
        'token',
        '*.authorization',
        '*.token',
        'req.headers.authorization',
        'headers.authorization',
        'connectionParams.authorization',
        '*.connectionParams.authorization',
      ],
      censor: '[redacted]',
    },
  },
    destination,
  );
  if (fallback) log.warn(fallback);
  return log;
}

/** A URL fit for logs: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Keeps a repeating log line to one per key and interval: `take(key)` answers how many times
 * the key was left out since its last line when it may be logged now, or null while it must
 * stay quiet. At most `maxKeys` keys are remembered (the oldest is forgotten first).
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; repeats: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 50,
  ) {}

  take(key: string, now = Date.now()): number | null {
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.repeats += 1;
      return null;
    }
    this.last.set(key, { at: now, repeats: 0 });
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    return seen?.repeats ?? 0;
  }

  /** Forget every key (the condition ended: the next line is logged at once). */
  clear(): void {
    this.last.clear();
  }
}
