import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs (JSON lines). Authorization headers and tokens are redacted wherever they
 * appear, so a log line never holds a credential.
 */
export function createLogger(level: string, name = 'lms', destination?: DestinationStream): Logger {
  return pino(
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
