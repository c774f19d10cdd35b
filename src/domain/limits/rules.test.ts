import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rules';

// 2026-11-22T10:00:00Z, any fixed instant.
const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('TokenBuckets', () => {
  it('lets a burst of perMinute through, then refuses with the wait until the next token', () => {
    const b = new TokenBuckets(60);
    for (let i = 0; i < 60; i += 1) expect(b.take('ip:1', T0)).toBe(0);
    expect(b.take('ip:1', T0)).toBe(1000);
    expect(b.take('ip:1', T0 + 400)).toBe(600);
    expect(b.take('ip:1', T0 + 1000)).toBe(0);
    expect(b.take('ip:1', T0 + 1000)).toBe(1000);
  });

  it('keeps one bucket per client', () => {
    const b = new TokenBuckets(1);
    expect(b.take('sub:amy', T0)).toBe(0);
    expect(b.take('sub:amy', T0)).toBe(60_000);
    expect(b.take('sub:bob', T0)).toBe(0);
  });

  it('refills to the burst, never past it', () => {
    const b = new TokenBuckets(2);
    expect(b.take('c', T0)).toBe(0);
    // An hour idle refills 2 tokens, not 120.
    expect(b.take('c', T0 + 3_600_000)).toBe(0);
    expect(b.take('c', T0 + 3_600_000)).toBe(0);
    expect(b.take('c', T0 + 3_600_000)).toBeGreaterThan(0);
  });

  it('forgets the least recently used client past maxClients', () => {
    const b = new TokenBuckets(1, 2);
    b.take('a', T0);
    b.take('b', T0);
    b.take('a', T0); // refused, but used most recently
    b.take('c', T0);
    expect(b.size()).toBe(2);
    expect(b.take('a', T0)).toBeGreaterThan(0);
    expect(b.take('b', T0)).toBe(0);
  });
});
