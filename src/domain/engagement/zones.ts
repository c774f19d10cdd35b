import { learningDay } from '../activity/days';

/**
 * Learners' time zones. A learner's days are calendar days in the zone in force when each event
 * occurred, so a zone change keeps its history: `[[fromMs, zone], ...]`, oldest first, the
 * zone before the first entry being UTC. The history's version is the time of its last change
 * (0 for none): scripts compare it with the one the server computed a day with, so a day is
 * never computed with a zone that changed meanwhile. Pure.
 */
export type ZoneHistory = readonly (readonly [number, string])[];

/**
 * Most zone changes a learner's history keeps. A trimmed history's first entry starts at 0: its
 * zone stands for every instant before the next change (the zones before it are forgotten).
 */
export const MAX_ZONE_CHANGES = 16;

const DAY_MS = 86_400_000;

/**
 * Current IANA names the runtime's ICU lists under an older name (Asia/Calcutta, Europe/Kiev,
 * ...) or not at all, though it accepts them: offered as learners know them.
 */
const CURRENT_NAMES = [
  'Asia/Kolkata',
  'Europe/Kyiv',
  'Asia/Kathmandu',
  'Asia/Yangon',
  'Asia/Ho_Chi_Minh',
  'America/Nuuk',
  'Atlantic/Faroe',
  'Pacific/Kanton',
  'Pacific/Pohnpei',
  'Pacific/Chuuk',
  'America/Argentina/Buenos_Aires',
  'America/Argentina/Catamarca',
  'America/Argentina/Cordoba',
  'America/Argentina/Jujuy',
  'America/Argentina/Mendoza',
  'America/Indiana/Indianapolis',
  'America/Kentucky/Louisville',
];

let known: Map<string, string> | undefined;

/** The zone names a learner may set, by lower case: what the runtime lists, UTC, and CURRENT_NAMES it accepts. */
function knownZones(): Map<string, string> {
  if (!known) {
    known = new Map([['utc', 'UTC']]);
    for (const name of Intl.supportedValuesOf('timeZone')) known.set(name.toLowerCase(), name);
    for (const name of CURRENT_NAMES) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: name });
        known.set(name.toLowerCase(), name);
      } catch {
        // Not in this runtime's data: not offered.
      }
    }
  }
  return known;
}

/**
 * The name to keep for an IANA zone a learner typed, spelled one way whatever its case
 * ('europe/berlin' → 'Europe/Berlin', 'asia/kolkata' → 'Asia/Kolkata'), or null for anything
 * else: unknown names, fixed offsets ('+05:00', 'EST', 'Etc/GMT+5') and old links
 * ('US/Eastern': use 'America/New_York'), which are not zones a learner lives in.
 */
export function canonicalZone(zone: string): string | null {
  if (zone.length === 0 || zone.length > 64) return null;
  return knownZones().get(zone.toLowerCase()) ?? null;
}

/** The zone in force at `at` (ms). */
export function zoneAt(history: ZoneHistory, at: number): string {
  let zone = 'UTC';
  for (const [from, z] of history) {
    if (from <= at) zone = z;
    else break;
  }
  return zone;
}

/** The history's version: the time of its last change, 0 for none. */
export function zoneVersion(history: ZoneHistory): number {
  return history.length === 0 ? 0 : history[history.length - 1]![0];
}

/** The history after a change to `zone` at `at` (bounded to the last MAX_ZONE_CHANGES). */
export function withZone(history: ZoneHistory, zone: string, at: number): ZoneHistory {
  const last = history[history.length - 1];
  // Before any change the zone is UTC, as in lua/profile-3.lua.
  if ((last ? last[1] : 'UTC') === zone) return history;
  // Changes are stamped with the server's time; a clock that went back still moves forward.
  const from = last ? Math.max(at, last[0] + 1) : at;
  const next: (readonly [number, string])[] = [...history, [from, zone] as const];
  if (next.length <= MAX_ZONE_CHANGES) return next;
  // Trimmed: the oldest kept zone stands for every earlier instant (as lua/profile-3.lua does).
  const kept = next.slice(-MAX_ZONE_CHANGES);
  kept[0] = [0, kept[0]![1]];
  return kept;
}

/** `fromMs zone;fromMs zone` as the learner hash (`tzh`) and Postgres keep it. */
export function encodeZoneHistory(history: ZoneHistory): string {
  return history.map(([from, zone]) => `${from} ${zone}`).join(';');
}

export function decodeZoneHistory(text: string | null | undefined): ZoneHistory {
  if (!text) return [];
  const out: [number, string][] = [];
  for (const part of text.split(';')) {
    const space = part.indexOf(' ');
    const from = Number(part.slice(0, space));
    if (space > 0 && Number.isFinite(from)) out.push([from, part.slice(space + 1)]);
  }
  return out;
}

/** Days since 1970-01-01 of a 'YYYY-MM-DD' calendar date (date arithmetic, no zone in it). */
export function dayNumber(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;
}

/** The 'YYYY-MM-DD' of a day number. */
export function dayString(n: number): string {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** The learning day (as a day number) of `at` for a learner with `history`. */
export function learningDayNumber(history: ZoneHistory, at: number): number {
  return dayNumber(learningDay(at, zoneAt(history, at)));
}

/**
 * The learner's day number at `at` in the zone in force then (a learner who never set a zone
 * lives in UTC: no Intl needed).
 */
export function dayAt(history: ZoneHistory, at: number): number {
  return history.length === 0 ? Math.floor(at / DAY_MS) : learningDayNumber(history, at);
}
