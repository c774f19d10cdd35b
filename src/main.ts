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
    if (err instanceof StartupError) {
      console.error(err.message);
      await app?.stop().catch(() => undefined);
      process.exit(1);
    }
    throw err;
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
