import { describe, expect, it } from 'vitest';
import { canonicalZone, dayAt, decodeZoneHistory, encodeZoneHistory, MAX_ZONE_CHANGES, withZone, zoneAt, zoneVersion } from './zones';

describe('zones', () => {
  it('keeps a typed IANA name, spells a listed one as listed, refuses offsets and unknown names', () => {
    expect(canonicalZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(canonicalZone('utc')).toBe('UTC');
    expect(canonicalZone('asia/kolkata')).toBe('Asia/Kolkata');
    expect(canonicalZone('EUROPE/KYIV')).toBe('Europe/Kyiv');
    for (const old of ['US/Eastern', 'EST', 'Etc/GMT+5', 'SystemV/AST4', 'Factory', 'localtime']) expect(canonicalZone(old), old).toBeNull();
    for (const bad of ['', '+05:00', 'GMT+5x', 'Mars/Olympus', '../etc', 'x'.repeat(65)]) expect(canonicalZone(bad), bad).toBeNull();
  });

  it('tells the zone in force at an instant; before any change, UTC', () => {
    // 2026-11-20 12:00 UTC: the learner moves to Berlin; 2026-11-25 00:00 UTC to New York.
    const h = withZone(withZone([], 'Europe/Berlin', Date.parse('2026-11-20T12:00:00Z')), 'America/New_York', Date.parse('2026-11-25T00:00:00Z'));
    expect(zoneAt(h, Date.parse('2026-11-20T11:59:59Z'))).toBe('UTC');
    expect(zoneAt(h, Date.parse('2026-11-20T12:00:00Z'))).toBe('Europe/Berlin');
    expect(zoneAt(h, Date.parse('2026-11-26T00:00:00Z'))).toBe('America/New_York');
    expect(zoneVersion(h)).toBe(Date.parse('2026-11-25T00:00:00Z'));
    expect(decodeZoneHistory(encodeZoneHistory(h))).toEqual(h);
    // Setting the zone already in force changes nothing (no new version).
    expect(withZone(h, 'America/New_York', Date.parse('2026-11-27T00:00:00Z'))).toBe(h);
    expect(withZone([], 'UTC', 1)).toEqual([]);
  });

  it('keeps the last MAX_ZONE_CHANGES changes; earlier instants take the oldest kept zone', () => {
    let h = withZone([], 'Asia/Tokyo', 1000);
    for (let i = 0; i < MAX_ZONE_CHANGES; i += 1) h = withZone(h, i % 2 ? 'Europe/Paris' : 'Europe/Rome', 2000 + i);
    expect(h.length).toBe(MAX_ZONE_CHANGES);
    expect(zoneAt(h, 1500)).toBe(h[0]![1]);
  });

  it('gives the learning day number in the zone (2026-11-19 11:00 UTC is 2026-11-20 in Kiritimati, +14:00)', () => {
    const at = Date.parse('2026-11-19T11:00:00Z');
    expect(dayAt([], at)).toBe(Date.UTC(2026, 10, 19) / 86_400_000);
    expect(dayAt([[0, 'Pacific/Kiritimati']], at)).toBe(Date.UTC(2026, 10, 20) / 86_400_000);
    // 2026-03-08 06:30 UTC is 01:30 EST, just before New York's spring-forward: still 2026-03-08.
    expect(dayAt([[0, 'America/New_York']], Date.parse('2026-03-08T06:30:00Z'))).toBe(Date.UTC(2026, 2, 8) / 86_400_000);
  });
});
