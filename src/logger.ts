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
