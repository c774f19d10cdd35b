import { z } from 'zod';

/**
 * Daily goals (API.md "Daily goals"), as lua/includes/goals.lua keeps them in the learner's
 * hash: standing targets per kind, and a record per recent learning day of what the learner did
 * and that day's targets. Pure.
 */
export const GOAL_KINDS = ['XP', 'LESSONS', 'WATCH_MINUTES', 'QUIZZES'] as const;
/** Day records a learner's hash keeps (GOAL_DAYS in lua/includes/goals.lua); older days are in Postgres. */
export const GOAL_DAYS = 8;
export type GoalKind = (typeof GOAL_KINDS)[number];

/** The largest target of each kind (a day has 1,440 minutes). 0 removes the goal. */
export const MAX_GOAL_TARGET: Record<GoalKind, number> = { XP: 100_000, LESSONS: 1_000, WATCH_MINUTES: 1_440, QUIZZES: 1_000 };

export const goalKind = z.enum(GOAL_KINDS, { error: `A goal kind is one of ${GOAL_KINDS.join(', ')}.` });

/** One learning day toward the goals (the script's "day|xp|lessons|watchSeconds|quizzes|tx|tl|tw|tq|doneMask"). */
export interface GoalDay {
  day: number;
  xp: number;
  lessons: number;
  watchSeconds: number;
  quizzes: number;
  /** Targets, in GOAL_KINDS order (0: no goal). */
  targets: readonly [number, number, number, number];
  /** Bit i: the goal of GOAL_KINDS[i] completed. */
  done: number;
}

/** One daily goal on one day, as the API shows it. */
export interface DailyGoal {
  kind: GoalKind;
  /** 'YYYY-MM-DD' in the learner's zone. */
  date: string;
  target: number;
  current: number;
  completed: boolean;
}

export function decodeGoalDays(text: string | null | undefined): GoalDay[] {
  if (!text) return [];
  return text.split(';').map((entry) => {
    const n = entry.split('|').map(Number);
    return { day: n[0]!, xp: n[1]!, lessons: n[2]!, watchSeconds: n[3]!, quizzes: n[4]!, targets: [n[5]!, n[6]!, n[7]!, n[8]!], done: n[9]! };
  });
}

export function encodeGoalDays(days: readonly GoalDay[]): string {
  return days.map((d) => [d.day, d.xp, d.lessons, d.watchSeconds, d.quizzes, ...d.targets, d.done].join('|')).join(';');
}

/**
 * The standing targets as lua/includes/goals.lua keeps them (`gt`): per kind
 * "target,fromDay,setAtMs" joined by '|', or "t|t|t|t" from before per-kind days (their day is
 * `gtd`). Pure.
 */
export function decodeStanding(text: string | null | undefined, gtd = 0): { targets: [number, number, number, number]; from: [number, number, number, number] } {
  const targets: [number, number, number, number] = [0, 0, 0, 0];
  const from: [number, number, number, number] = [0, 0, 0, 0];
  if (text) {
    text.split('|').slice(0, 4).forEach((part, i) => {
      const [t, d] = part.split(',');
      targets[i] = Number(t ?? 0) || 0;
      from[i] = d === undefined ? gtd : Number(d) || 0;
    });
  }
  return { targets, from };
}

/** What a day counts toward a kind's goal (watch time in whole minutes). */
export function goalCurrent(d: Pick<GoalDay, 'xp' | 'lessons' | 'watchSeconds' | 'quizzes'>, kind: GoalKind): number {
  switch (kind) {
    case 'XP':
      return d.xp;
    case 'LESSONS':
      return d.lessons;
    case 'WATCH_MINUTES':
      return Math.floor(d.watchSeconds / 60);
    case 'QUIZZES':
      return d.quizzes;
  }
}

/**
 * The goals of learning day `day` ('YYYY-MM-DD' is `date`): from its record when it has one,
 * else (a day without activity yet) each kind's standing target when the day is on or after the
 * day it was set, at 0. Only kinds with a target are listed, in GOAL_KINDS order.
 */
export function goalsOf(record: GoalDay | null, day: number, date: string, standing: readonly number[], standingFrom: readonly number[]): DailyGoal[] {
  const targets = record ? record.targets : standing.map((t, i) => (day >= (standingFrom[i] ?? 0) ? t : 0));
  const counts = record ?? { xp: 0, lessons: 0, watchSeconds: 0, quizzes: 0 };
  const out: DailyGoal[] = [];
  GOAL_KINDS.forEach((kind, i) => {
    const target = targets[i] ?? 0;
    if (target <= 0) return;
    out.push({ kind, date, target, current: goalCurrent(counts, kind), completed: record ? (record.done & (1 << i)) !== 0 : false });
  });
  return out;
}
