import { describe, expect, it } from 'vitest';
import { MAX_ZONE_CHANGES, zoneAt, type ZoneHistory } from './zones';

describe('review 8: zoneAt with a full history', () => {
  // zoneAt gives instants before the first kept change the first change's zone as soon as the
  // history holds MAX_ZONE_CHANGES entries, assuming older ones were dropped. With exactly 16
  // changes nothing was dropped, and an event backfilled (service caller) before the first
  // change lands on a day of the first zone instead of UTC (up to ±14 h off: a wrong day, a
  // broken or invented streak day). The history cannot tell "16 changes" from "trimmed to 16":
  // fix in lua/profile-3.lua (and zones.ts withZone): on trimming, mark it, e.g. keep the
  // dropped entry's zone as a leading "0 <zone>" entry, and let zoneAt use UTC before the
  // first entry otherwise.
  it('uses UTC before the first change of a learner who made exactly MAX_ZONE_CHANGES changes', () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const zones = ['Pacific/Kiritimati', 'Europe/Berlin'];
    const history: ZoneHistory = Array.from({ length: MAX_ZONE_CHANGES }, (_, i) => [start + i * 86_400_000, zones[i % 2]!] as const);
    expect(zoneAt(history, start - 3_600_000)).toBe('UTC');
  });
});
