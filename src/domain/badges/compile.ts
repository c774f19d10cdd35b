import type { BadgeCriteria } from './criteria';
import { defaultMinXp, type LevelTable } from '../levels/rules';

/**
 * A badge rule in the form the learner scripts evaluate: a tree whose leaves compare one
 * counter of the learner's hash with a threshold (an absent field reads 0). Fields: `xp`
 * (total XP), `lc` (lessons completed), `cc:<courseId>` (lessons completed in a course), `vc`
 * (videos completed), `wt` (seconds watched), `qt` (quiz attempts), `qpc` (quizzes passed),
 * `qn:<quizId>` (attempts of a quiz), `qb:<quizId>` (its best score), `qbm` (the best score
 * over all quizzes), `crs` (courses completed), `ec:<courseId>` (the course's completion
 * time, ms), `ad` (active days), `sk` (the current streak, in days, as of the latest active
 * day) and `gc` (daily goals completed). Pure data, JSON-encodable.
 */
export type CompiledRule = ['ge', string, number] | ['all', ...CompiledRule[]] | ['any', ...CompiledRule[]];

/**
 * The smallest total XP at which a learner has reached `level`, or null when the table never
 * gets there. A learner's level is the highest row whose minXp they reached, and minXp grows
 * with the level, so this is the minXp of the first row at or above `level`. Pure.
 */
export function minXpForLevel(level: number, table: LevelTable): number | null {
  if (!table) return defaultMinXp(level);
  const row = table.find((r) => r.level >= level);
  return row ? row.minXp : null;
}

/**
 * Compile criteria into a rule the scripts can evaluate, or `false` when it can never pass (a
 * level a finite table never reaches, the same course completed twice). Pure.
 */
export function compileCriteria(c: BadgeCriteria, levels: LevelTable): CompiledRule | false {
  if ('all' in c) {
    const parts: CompiledRule[] = [];
    for (const child of c.all) {
      const r = compileCriteria(child, levels);
      if (r === false) return false;
      parts.push(r);
    }
    return parts.length === 1 ? parts[0]! : ['all', ...parts];
  }
  if ('any' in c) {
    const parts = c.any.map((child) => compileCriteria(child, levels)).filter((r): r is CompiledRule => r !== false);
    if (parts.length === 0) return false;
    return parts.length === 1 ? parts[0]! : ['any', ...parts];
  }
  switch (c.type) {
    case 'xp_total':
      return ['ge', 'xp', c.value];
    case 'level_reached': {
      const xp = minXpForLevel(c.value, levels);
      return xp === null ? false : ['ge', 'xp', xp];
    }
    case 'lessons_completed':
      return ['ge', c.course_id ? `cc:${c.course_id}` : 'lc', c.value];
    case 'videos_completed':
      return ['ge', 'vc', c.value];
    case 'watch_time_seconds':
      return ['ge', 'wt', c.value];
    case 'quizzes_passed':
      return ['ge', 'qpc', c.value];
    case 'quiz_score':
      // A best score (qb:, qbm) reads 0 before any attempt, so "at least 0" would pass before
      // the learner ever tried: at 0 the rule asks for an attempt instead (qn:, qt), above 0
      // the best score itself says there was one.
      if (c.quiz_id) return c.min_score > 0 ? ['ge', `qb:${c.quiz_id}`, c.min_score] : ['ge', `qn:${c.quiz_id}`, 1];
      return c.min_score > 0 ? ['ge', 'qbm', c.min_score] : ['ge', 'qt', 1];
    case 'courses_completed':
      if (!c.course_id) return ['ge', 'crs', c.value];
      // One course completes once (ec:<course> holds the time it did): a count above 1 of the
      // same course never passes, as `meets` says too.
      return c.value <= 1 ? ['ge', `ec:${c.course_id}`, 1] : false;
    case 'active_days':
      // `ad`: the learner's active days (lua/includes/activeDay.lua), counted by every event.
      return ['ge', 'ad', c.value];
    case 'streak_days':
      // `sk`: the learner's current streak as of their latest active day (the streak scripts keep it).
      return ['ge', 'sk', c.value];
    case 'goals_completed':
      // `gc`: daily goals completed (the goal scripts count them).
      return ['ge', 'gc', c.value];
  }
}

/** Every counter field a rule reads. Pure. */
export function fieldsOf(rule: CompiledRule, into: Set<string> = new Set()): Set<string> {
  if (rule[0] === 'ge') into.add(rule[1]);
  else for (const child of rule.slice(1) as CompiledRule[]) fieldsOf(child, into);
  return into;
}

/**
 * The badges an event may unlock, as a learner script takes them: `json` is
 * `[[badgeId, xpReward, rule], ...]` and `fields` every hash field the script must read to
 * judge them (each badge's `b:<id>` and the counters its rule reads).
 */
export interface BadgeCandidates {
  ids: readonly string[];
  json: string;
  fields: readonly string[];
}

export const NO_CANDIDATES: BadgeCandidates = { ids: [], json: '[]', fields: [] };

/**
 * The badges whose rule reads a counter in `changed` (an event can only unlock those), in
 * catalog order. Badge XP changes `xp`, so XP-based badges are candidates whenever anything
 * that pays XP is. Pure.
 */
export function candidatesFor(
  badges: readonly { id: string; xpReward: number; criteria: BadgeCriteria }[],
  levels: LevelTable,
  changed: ReadonlySet<string>,
): BadgeCandidates {
  const picked: [string, number, CompiledRule][] = [];
  const fields = new Set<string>();
  for (const b of badges) {
    const rule = compileCriteria(b.criteria, levels);
    if (rule === false) continue;
    const reads = fieldsOf(rule);
    if (![...reads].some((f) => changed.has(f))) continue;
    picked.push([b.id, b.xpReward, rule]);
    fields.add(`b:${b.id}`);
    for (const f of reads) fields.add(f);
  }
  if (picked.length === 0) return NO_CANDIDATES;
  return { ids: picked.map((p) => p[0]), json: JSON.stringify(picked), fields: [...fields] };
}
