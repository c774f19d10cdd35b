import { buildApp, StartupError } from './app';
import { loadConfig } from './config';
import { startDevServicesFor } from './server/devServices';

/** Start the service; nothing else. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  let app;
  try {
    // Development only: PostgreSQL and Redis where nothing answers at the default URLs.
    await startDevServicesFor(config);
    app = await buildApp(config);
    await app.start();
  } catch (err) {
    // One line, naming what was set; a stack only for an error nobody foresaw, and only when asked.
    const debug = config.logLevel === 'debug' || config.logLevel === 'trace';
    console.error(err instanceof StartupError ? err.message : `Could not start: ${(err as Error).message ?? String(err)}${debug ? `\n${(err as Error).stack}` : ' (LOG_LEVEL=debug shows where)'}`);
    await app?.stop().catch(() => undefined);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A closed terminal: stop as gracefully as on Ctrl-C (and the development services with it).
  process.on('SIGHUP', () => stop('SIGHUP'));
}

void main();
