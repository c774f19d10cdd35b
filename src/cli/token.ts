/**
 * Development helper: print a bearer token for a learner.
 *   npm run -s token -- alice@example.com [--admin] [--service] [--expires 12h]
 * Piped or captured (`TOKEN=$(npm run -s token -- alice@example.com)`), it prints the token
 * alone; `-s` keeps npm's own banner out. On a terminal it prints GraphiQL's headers.
 * Signs with JWT_SECRET (or the development default the server also uses), and sets `aud` and
 * `iss` to JWT_AUDIENCE and JWT_ISSUER when they are set.
 */
import { loadConfig } from '../config';
import { signToken } from '../domain/auth/tokens';
import { learnerId, type Role } from '../domain/auth/viewer';

const USAGE = 'Usage: npm run -s token -- <learnerId> [--admin] [--service] [--expires 12h]';
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const roles: Role[] = [];
let expiresIn = '12h';
let sub: string | undefined;
for (let i = 0; i < args.length; i += 1) {
  const a = args[i]!;
  if (a === '--admin') roles.push('admin');
  else if (a === '--service') roles.push('service');
  else if (a === '--expires') expiresIn = args[++i] ?? expiresIn;
  else if (!a.startsWith('--')) sub = a;
  else {
    console.error(`Unknown option ${a}\n${USAGE}`);
    process.exit(2);
  }
}
if (!sub || !learnerId.safeParse(sub).success) {
  console.error(USAGE);
  process.exit(2);
}
let token: string;
try {
  const config = loadConfig();
  token = await signToken(sub, { secret: config.jwtSecret, roles, expiresIn, audience: config.jwtAudience, issuer: config.jwtIssuer });
} catch (err) {
  // A bad --expires or configuration: one line, no stack.
  console.error((err as Error).message);
  process.exit(2);
}
if (process.stdout.isTTY) {
  console.error(`Token for ${sub}${roles.length ? ` (${roles.join(', ')})` : ''}, valid ${expiresIn}. GraphiQL headers:`);
  console.log(JSON.stringify({ Authorization: `Bearer ${token}` }));
} else {
  console.log(token);
}
