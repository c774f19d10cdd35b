/**
 * `npm start`: run the compiled server, `node dist/main.js`, building dist/ first when it is
 * missing or older than a source (a few hundred mtimes read: instant when nothing changed).
 * That rebuild skips the type check to stay quick; `npm run build` and CI check types.
 *
 * The server runs in this same process, so SIGTERM and Ctrl-C reach its graceful stop.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, staleReason } from './build.mjs';

const reason = staleReason();
if (reason) {
  console.error(`building dist/: ${reason}`);
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--no-check'], { stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
await import(pathToFileURL(join(ROOT, 'dist', 'main.js')).href);
