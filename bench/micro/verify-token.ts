/**
 * Micro-benchmark: verifying a bearer token (`verifyTokenSync`, HMAC-SHA256 with node:crypto),
 * the work every authenticated request and WebSocket connection does before anything else.
 *
 * Signs one learner token with an audience and issuer, verifies it BENCH_WARMUP times so the
 * JIT has settled, then times BENCH_VERIFICATIONS verifications with the same checks the server
 * makes and prints microseconds per verification. No Redis or Postgres.
 *
 * Run:  npx tsx bench/micro/verify-token.ts
 * Env:  BENCH_VERIFICATIONS (100000)  BENCH_WARMUP (10000)
 */
import { performance } from 'node:perf_hooks';
import { signToken, verifyTokenSync } from '../../src/domain/auth/tokens';

const verifications = Number(process.env.BENCH_VERIFICATIONS ?? 100_000);
const warmup = Number(process.env.BENCH_WARMUP ?? 10_000);
const secret = 'bench-secret-0123456789-0123456789-abcdef';
const options = { audience: 'lms-progress', issuer: 'https://id.example.com' };

const token = await signToken('alice@example.com', { secret, roles: ['service'], expiresIn: '1h', ...options });

// Keep the result alive so the loop cannot be optimised away.
let seen = 0;
for (let i = 0; i < warmup; i += 1) seen += verifyTokenSync(token, secret, options).roles.size;
const started = performance.now();
for (let i = 0; i < verifications; i += 1) seen += verifyTokenSync(token, secret, options).roles.size;
const ms = performance.now() - started;
if (seen !== warmup + verifications) throw new Error('a verification lost the service role');

console.log(`verifyTokenSync: ${((ms * 1000) / verifications).toFixed(2)} µs per verification (${verifications} in ${ms.toFixed(0)} ms)`);
