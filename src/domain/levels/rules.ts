import { z } from 'zod';
import { displayText } from '../validation';

/** One row of a level table: reaching `minXp` total XP makes a learner `level`. */
export interface Level {
  level: number;
  name: string | null;
  minXp: number;
}

/** Where a learner stands between two levels. */
export interface LevelProgress extends Level {
  /** XP at which the next level starts; null at the top of a finite table. */
  nextLevelXp: number | null;
  /** 0..1 of the way from `minXp` to `nextLevelXp`; 1 at the top of a finite table. */
  progress: number;
}

/**
 * The level table in force: `null` is the default, unbounded `floor(sqrt(xp / 100))`;
 * otherwise a finite table sorted by `minXp`, first row at 0 XP.
 */
export type LevelTable = readonly Level[] | null;

/** How many rows of the unbounded default table `levels` lists. */
export const DEFAULT_TABLE_ROWS = 51;

/** Minimum XP of `level` in the default table: 100 x level². */
export function defaultMinXp(level: number): number {
  return 100 * level * level;
}

/** Level of `totalXp` in the default table, `floor(sqrt(xp / 100))`, exact for integers. */
export function defaultLevelOf(totalXp: number): number {
  if (totalXp <= 0) return 0;
  let level = Math.floor(Math.sqrt(totalXp / 100));
  // Floating point can land one off near perfect squares; settle on the exact integer.
  while (defaultMinXp(level + 1) <= totalXp) level += 1;
  while (level > 0 && defaultMinXp(level) > totalXp) level -= 1;
  return level;
}

/** The rows `levels` shows: the finite table, or the first rows of the default one. */
export function levelRows(table: LevelTable): Level[] {
  if (table) return table.map((l) => ({ ...l }));
  return Array.from({ length: DEFAULT_TABLE_ROWS }, (_, level) => ({
    level,
    name: null,
    minXp: defaultMinXp(level),
  }));
}

/** The level a learner with `totalXp` has, and how far they are towards the next. Pure. */
export function levelOf(totalXp: number, table: LevelTable): LevelProgress {
  const xp = Math.max(0, totalXp);
  if (!table) {
    const level = defaultLevelOf(xp);
    const minXp = defaultMinXp(level);
    const nextLevelXp = defaultMinXp(level + 1);
    return { level, name: null, minXp, nextLevelXp, progress: (xp - minXp) / (nextLevelXp - minXp) };
  }
  let index = 0;
  for (let i = 0; i < table.length; i += 1) {
    if (table[i]!.minXp <= xp) index = i;
    else break;
  }
  const row = table[index]!;
  const next = table[index + 1];
  if (!next) return { ...row, nextLevelXp: null, progress: 1 };
  return { ...row, nextLevelXp: next.minXp, progress: (xp - row.minXp) / (next.minXp - row.minXp) };
}

/** Most rows a level table may have. */
export const MAX_LEVEL_ROWS = 1000;

/** A level table as `setLevels` takes it. */
export const levelTableInput = z
  .array(
    z.object({
      /** Level number; strictly increasing with minXp. */
      level: z.number().int().min(0).max(1_000_000),
      /** Display name, e.g. "Apprentice". */
      name: displayText('A level name', 80).nullish(),
      /** Total XP at which the level starts; the first row starts at 0. */
      minXp: z.number().int().min(0).max(2_000_000_000),
    }),
  )
  .min(1, 'A level table needs at least one level.')
  .max(MAX_LEVEL_ROWS, `A level table has at most ${MAX_LEVEL_ROWS} levels.`)
  .superRefine((rows, ctx) => {
    if (rows[0] && rows[0].minXp !== 0) {
      ctx.addIssue({ code: 'custom', path: [0, 'minXp'], message: 'The first level must start at 0 XP.' });
    }
    for (let i = 1; i < rows.length; i += 1) {
      const prev = rows[i - 1]!;
      const row = rows[i]!;
      if (row.minXp <= prev.minXp) {
        ctx.addIssue({ code: 'custom', path: [i, 'minXp'], message: 'minXp must be strictly increasing.' });
      }
      if (row.level <= prev.level) {
        ctx.addIssue({ code: 'custom', path: [i, 'level'], message: 'Level numbers must be strictly increasing.' });
      }
    }
  })
  .transform((rows): Level[] => rows.map((r) => ({ level: r.level, name: r.name ?? null, minXp: r.minXp })));
