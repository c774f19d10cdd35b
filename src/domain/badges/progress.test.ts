import { describe, expect, it } from 'vitest';
import type { Badge } from '../catalog/types';
import { compileCriteria, type CompiledRule } from './compile';
import type { BadgeCriteria } from './criteria';
import { badgeProgressPlan, rankBadgeProgress } from './progress';

const badge = (id: string, criteria: BadgeCriteria): Badge => ({ id, name: id, description: null, imageUrl: null, criteria, xpReward: 0 });

/** A learner's hash as the scripts read it: an absent field is 0. */
const reader = (hash: Record<string, number>) => (field: string) => hash[field] ?? 0;

/** The ranking of `badges` for a learner with `hash`, as [id, current, target, progress]. */
function rank(badges: Badge[], hash: Record<string, number>, first = 50, levels: Parameters<typeof badgeProgressPlan>[1] = null) {
  return rankBadgeProgress(badgeProgressPlan(badges, levels), reader(hash), first).map((p) => [p.badge.id, p.current, p.target, p.progress]);
}

/** The rule as lua/includes/awardBadges.lua judges it. */
function holds(hash: Record<string, number>, rule: CompiledRule): boolean {
  if (rule[0] === 'ge') return (hash[rule[1]] ?? 0) >= rule[2];
  const parts = rule.slice(1) as CompiledRule[];
  return rule[0] === 'all' ? parts.every((p) => holds(hash, p)) : parts.some((p) => holds(hash, p));
}

const table = [
  { level: 1, name: 'Novice', minXp: 0 },
  { level: 2, name: 'Apprentice', minXp: 40 },
  { level: 4, name: 'Adept', minXp: 100 },
];

describe('rankBadgeProgress', () => {
  it('puts one lesson to go before 400 XP to go', () => {
    const badges = [badge('xp1000', { type: 'xp_total', value: 1000 }), badge('ten', { type: 'lessons_completed', value: 10 })];
    expect(rank(badges, { xp: 600, lc: 9 })).toEqual([
      ['ten', 9, 10, 0.9],
      ['xp1000', 600, 1000, 0.6],
    ]);
  });

  it('leaves out badges the learner holds', () => {
    const badges = [badge('one', { type: 'lessons_completed', value: 1 }), badge('ten', { type: 'lessons_completed', value: 10 })];
    expect(rank(badges, { lc: 1, 'b:one': Date.UTC(2026, 10, 22) })).toEqual([['ten', 1, 10, 0.1]]);
  });

  it('leaves out badges that can never be earned', () => {
    const badges = [
      badge('twice', { type: 'courses_completed', value: 2, course_id: 'c' }),
      badge('lvl5', { type: 'level_reached', value: 5 }),
      badge('both', { all: [{ type: 'xp_total', value: 10 }, { type: 'level_reached', value: 9 }] }),
      badge('either', { any: [{ type: 'level_reached', value: 9 }, { type: 'xp_total', value: 10 }] }),
    ];
    const plan = badgeProgressPlan(badges, table);
    expect(plan.badges.map((b) => b.badge.id)).toEqual(['either']);
    // The part that can never pass does not decide an any.
    expect(rank(badges, { xp: 5 }, 50, table)).toEqual([['either', 5, 10, 0.5]]);
  });

  it('sorts by progress, then catalog order, and stops at first', () => {
    const badges = [
      badge('a', { type: 'videos_completed', value: 4 }),
      badge('b', { type: 'watch_time_seconds', value: 100 }),
      badge('c', { type: 'quizzes_passed', value: 2 }),
      badge('d', { type: 'active_days', value: 8 }),
    ];
    const hash = { vc: 2, wt: 50, qpc: 2, ad: 1 };
    expect(rank(badges, hash).map((r) => r[0])).toEqual(['c', 'a', 'b', 'd']);
    expect(rank(badges, hash, 2).map((r) => r[0])).toEqual(['c', 'a']);
    expect(rank(badges, hash, 0)).toEqual([]);
  });

  it('gives an all its weakest part and an any its strongest', () => {
    const both = badge('both', { all: [{ type: 'lessons_completed', value: 10 }, { type: 'xp_total', value: 1000 }] });
    const either = badge('either', { any: [{ type: 'lessons_completed', value: 10 }, { type: 'xp_total', value: 1000 }] });
    expect(rank([both, either], { lc: 9, xp: 600 })).toEqual([
      ['either', 9, 10, 0.9],
      ['both', 600, 1000, 0.6],
    ]);
    // Nested: the any inside the all is as strong as its best part.
    const nested = badge('nested', { all: [{ type: 'xp_total', value: 100 }, { any: [{ type: 'active_days', value: 10 }, { type: 'videos_completed', value: 4 }] }] });
    expect(rank([nested], { xp: 70, ad: 2, vc: 3 })).toEqual([['nested', 70, 100, 0.7]]);
    expect(rank([nested], { xp: 90, ad: 2, vc: 3 })).toEqual([['nested', 3, 4, 0.75]]);
    expect(rank([nested], { xp: 100, ad: 2, vc: 0 })).toEqual([['nested', 2, 10, 0.2]]);
  });

  it('reads each fact from the counter its compiled rule reads', () => {
    const badges = [
      badge('course-lessons', { type: 'lessons_completed', value: 4, course_id: 'ts' }),
      badge('streak', { type: 'streak_days', value: 7 }),
      badge('goals', { type: 'goals_completed', value: 10 }),
      badge('q1-90', { type: 'quiz_score', min_score: 90, quiz_id: 'q1' }),
      badge('any-80', { type: 'quiz_score', min_score: 80 }),
      badge('courses', { type: 'courses_completed', value: 3 }),
    ];
    const hash = { lc: 30, 'cc:ts': 1, sk: 5, gc: 4, 'qb:q1': 45, qbm: 60, crs: 1 };
    expect(rank(badges, hash)).toEqual([
      ['any-80', 60, 80, 0.75],
      ['streak', 5, 7, 5 / 7],
      ['q1-90', 45, 90, 0.5],
      ['goals', 4, 10, 0.4],
      ['courses', 1, 3, 1 / 3],
      ['course-lessons', 1, 4, 0.25],
    ]);
  });

  it('measures a level as the level those XP reach in the table in force', () => {
    const lvl3 = badge('lvl3', { type: 'level_reached', value: 3 });
    // Default table: 400 XP is level 2 of 3.
    expect(rank([lvl3], { xp: 400 })).toEqual([['lvl3', 2, 3, 2 / 3]]);
    // A table without level 3: 50 XP is Apprentice (2); 100 XP would be level 4, past it.
    expect(rank([lvl3], { xp: 50 }, 50, table)).toEqual([['lvl3', 2, 3, 2 / 3]]);
  });

  it('counts an attempt for quiz_score min_score 0 and a completion for one course, 0 or 1 of 1', () => {
    const tried = badge('tried', { all: [{ type: 'quiz_score', min_score: 0, quiz_id: 'q1' }, { type: 'xp_total', value: 100 }] });
    const course = badge('course', { all: [{ type: 'courses_completed', value: 1, course_id: 'c' }, { type: 'xp_total', value: 100 }] });
    expect(rank([tried, course], { xp: 50 })).toEqual([
      ['tried', 0, 1, 0],
      ['course', 0, 1, 0],
    ]);
    // Attempted (a score of 0 is still an attempt) and completed: the XP part decides.
    expect(rank([tried, course], { xp: 50, 'qn:q1': 3, 'qb:q1': 0, 'ec:c': Date.UTC(2026, 10, 22) })).toEqual([
      ['tried', 50, 100, 0.5],
      ['course', 50, 100, 0.5],
    ]);
  });

  it('reads every b:<id> and each counter once, in one list', () => {
    const plan = badgeProgressPlan(
      [
        badge('a', { all: [{ type: 'xp_total', value: 10 }, { type: 'level_reached', value: 2 }] }),
        badge('b', { any: [{ type: 'lessons_completed', value: 2, course_id: 'c' }, { type: 'xp_total', value: 50 }] }),
        badge('never', { type: 'courses_completed', value: 3, course_id: 'c' }),
      ],
      null,
    );
    expect(plan.fields).toEqual(['b:a', 'b:b', 'xp', 'cc:c']);
  });

  // The ranking and the scripts must agree on what "met" means, or a badge at 100% would sit
  // unearned forever (or one earned would show below 100%).
  it('is at 1 exactly when the compiled rule holds', () => {
    const shapes: BadgeCriteria[] = [
      { type: 'xp_total', value: 300 },
      { type: 'level_reached', value: 2 },
      { type: 'lessons_completed', value: 3, course_id: 'c' },
      { type: 'quiz_score', min_score: 0 },
      { type: 'quiz_score', min_score: 0, quiz_id: 'q' },
      { type: 'quiz_score', min_score: 70, quiz_id: 'q' },
      { type: 'courses_completed', value: 1, course_id: 'c' },
      { type: 'streak_days', value: 3 },
      { all: [{ type: 'goals_completed', value: 2 }, { any: [{ type: 'active_days', value: 3 }, { type: 'quiz_score', min_score: 50 }] }] },
      { any: [{ all: [{ type: 'videos_completed', value: 2 }, { type: 'watch_time_seconds', value: 60 }] }, { type: 'quizzes_passed', value: 2 }] },
    ];
    const fields = ['xp', 'cc:c', 'qt', 'qn:q', 'qb:q', 'qbm', 'ec:c', 'sk', 'gc', 'ad', 'vc', 'wt', 'qpc'];
    const maxOf: Record<string, number> = { xp: 600, 'qb:q': 100, qbm: 100, 'ec:c': 2, wt: 120 };
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const badges = shapes.map((c, i) => badge(`s${i}`, c));
    const plan = badgeProgressPlan(badges, null);
    for (let n = 0; n < 500; n += 1) {
      const hash: Record<string, number> = {};
      for (const f of fields) if (random() < 0.8) hash[f] = Math.floor(random() * ((maxOf[f] ?? 5) + 1));
      const ranked = new Map(rankBadgeProgress(plan, reader(hash), 50).map((p) => [p.badge.id, p.progress]));
      badges.forEach((b) => {
        const rule = compileCriteria(b.criteria, null) as CompiledRule;
        expect(ranked.get(b.id) === 1, `${JSON.stringify(b.criteria)} ${JSON.stringify(hash)}`).toBe(holds(hash, rule));
      });
    }
  });
});
