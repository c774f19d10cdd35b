import type { Badge } from '../catalog/types';
import { levelOf, type LevelTable } from '../levels/rules';
import { compileCriteria } from './compile';
import type { BadgeCriteria } from './criteria';

/** How close a learner is to a badge they have not earned. */
export interface BadgeProgress {
  badge: Badge;
  /** The learner's fact the rule (or its deciding part) compares. */
  current: number;
  /** The threshold that fact must reach. */
  target: number;
  /** min(1, current / target). */
  progress: number;
}

/**
 * Reads one field of the learner's hash as the scripts do: a number, 0 when absent.
 */
export type FieldReader = (field: string) => number;

type Leaf = Exclude<BadgeCriteria, { all: unknown } | { any: unknown }>;

/** A rule ready to measure: leaves know the one hash field they read. */
type Gauge = { leaf: Leaf; field: string; threshold: number } | { all: Gauge[] } | { any: Gauge[] };

/**
 * What ranking a catalog's badges takes, made once per catalog snapshot: the badges that can
 * still be earned, each with its rule as gauges, and every hash field a ranking reads (each
 * badge's `b:<id>`, then the counters the rules read, without repeats).
 */
export interface BadgeProgressPlan {
  badges: readonly { badge: Badge; gauge: Gauge }[];
  fields: readonly string[];
  levels: LevelTable;
}

/**
 * The gauge of `c`, or null when it can never pass (as {@link compileCriteria} says: a level a
 * finite table never reaches, the same course completed twice). An `any` keeps the parts that
 * can pass; an `all` with a part that cannot is null. Each leaf reads the counter field its
 * compiled rule reads, so the ranking sees exactly what the scripts judge. Pure.
 */
function gaugeOf(c: BadgeCriteria, levels: LevelTable): Gauge | null {
  if ('all' in c) {
    const parts: Gauge[] = [];
    for (const child of c.all) {
      const g = gaugeOf(child, levels);
      if (!g) return null;
      parts.push(g);
    }
    return { all: parts };
  }
  if ('any' in c) {
    const parts = c.any.map((child) => gaugeOf(child, levels)).filter((g): g is Gauge => g !== null);
    return parts.length ? { any: parts } : null;
  }
  const rule = compileCriteria(c, levels);
  if (rule === false || rule[0] !== 'ge') return null;
  return { leaf: c, field: rule[1], threshold: rule[2] };
}

function fieldsOfGauge(g: Gauge, into: Set<string>): void {
  if ('leaf' in g) into.add(g.field);
  else for (const part of 'all' in g ? g.all : g.any) fieldsOfGauge(part, into);
}

/** Compile the catalog's badges for {@link rankBadgeProgress}, leaving out those that can never be earned. Pure. */
export function badgeProgressPlan(badges: readonly Badge[], levels: LevelTable): BadgeProgressPlan {
  const planned: { badge: Badge; gauge: Gauge }[] = [];
  const earned: string[] = [];
  const counters = new Set<string>();
  for (const badge of badges) {
    const gauge = gaugeOf(badge.criteria, levels);
    if (!gauge) continue;
    planned.push({ badge, gauge });
    earned.push(`b:${badge.id}`);
    fieldsOfGauge(gauge, counters);
  }
  return { badges: planned, fields: [...earned, ...counters], levels };
}

type Measure = Omit<BadgeProgress, 'badge'>;

const ratio = (current: number, target: number): Measure => ({ current, target, progress: target > 0 ? Math.min(1, Math.max(0, current / target)) : 1 });

/**
 * One leaf: the learner's fact against the criteria's threshold. Most facts are the counter
 * itself; a level is the level those XP reach in the table in force; a course completion
 * (`ec:<course>` holds its time) and an attempt at a quiz (`min_score` 0: `qn:<quiz>`, `qt`)
 * are 0 or 1 out of 1.
 */
function measureLeaf(g: { leaf: Leaf; field: string; threshold: number }, read: FieldReader, levels: LevelTable): Measure {
  const value = read(g.field);
  const c = g.leaf;
  if (c.type === 'level_reached') return ratio(levelOf(value, levels).level, c.value);
  if ((c.type === 'courses_completed' && c.course_id) || (c.type === 'quiz_score' && c.min_score === 0)) return ratio(value > 0 ? 1 : 0, 1);
  return ratio(value, g.threshold);
}

/** The deciding part: the weakest of an `all` (the first of equals), the strongest of an `any`. */
function measureGauge(g: Gauge, read: FieldReader, levels: LevelTable): Measure {
  if ('leaf' in g) return measureLeaf(g, read, levels);
  const weakest = 'all' in g;
  let best: Measure | null = null;
  for (const part of weakest ? g.all : g.any) {
    const m = measureGauge(part, read, levels);
    if (!best || (weakest ? m.progress < best.progress : m.progress > best.progress)) best = m;
  }
  return best!;
}

/**
 * The badges the learner has not earned (no `b:<id>`), closest first: by progress descending,
 * then in catalog order; at most `first`. Pure.
 */
export function rankBadgeProgress(plan: BadgeProgressPlan, read: FieldReader, first: number): BadgeProgress[] {
  if (first <= 0) return [];
  const open: BadgeProgress[] = [];
  for (const { badge, gauge } of plan.badges) {
    if (read(`b:${badge.id}`) > 0) continue;
    open.push({ badge, ...measureGauge(gauge, read, plan.levels) });
  }
  // Array.prototype.sort is stable: equal progress keeps catalog order.
  return open.sort((a, b) => b.progress - a.progress).slice(0, first);
}
