import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { DailyGoal } from '../domain/engagement/goals';
import type { Streak } from '../domain/engagement/streak';
import { dayString } from '../domain/engagement/zones';
import { levelOf, type LevelTable } from '../domain/levels/rules';
import { streakOfSnapshot } from '../store/outbox/entry';
import type { RankMove } from './feeds';
import { LEARNER_BUFFER, type LearnerUpdate } from './learnerFeed';

/** An outbox entry as the learner feed delivers it (`crt` when its event completed a course). */
export type FeedEntry = LearnerUpdate;

/** Why XP was paid, as the ledger (`xpHistory`) names it. */
export type XpReason = 'lesson_completed' | 'quiz_passed' | 'badge_unlocked' | 'goal_completed';

/**
 * One thing `myEvents` tells the learner, as plain data (the schema resolves it). `type` is the
 * GraphQL type it becomes.
 */
export type LearnerEventData =
  | { type: 'XpAwarded'; amount: number; totalXp: number; reason: XpReason; occurredAt: number }
  | { type: 'LevelUp'; level: number; name: string | null; totalXp: number }
  | { type: 'BadgeUnlocked'; learnerId: string; badgeId: string; awardedAt: number }
  | { type: 'StreakUpdated'; streak: Streak }
  | { type: 'GoalCompleted'; goal: DailyGoal }
  | { type: 'CertificateIssued'; code: string; learnerId: string; courseId: string; issuedAt: number }
  | { type: 'RankChange'; move: RankMove };

/**
 * What one outbox entry tells its learner, in this order: an XpAwarded per XP award the event
 * paid (the lesson's or the quiz's own XP, then each unlocked badge's XP, awards of 0 left out),
 * each with the running total after it, so the last one's `totalXp` is the snapshot's total;
 * then one LevelUp when the level at the total after is above the level at the total before
 * (one message with the new level, however many levels were crossed); then StreakUpdated when
 * the event marked a new active day (the streak as of the learner's day when it was recorded);
 * then a BadgeUnlocked per unlocked badge (with or without XP); then a GoalCompleted per daily
 * goal it completed (its bonus is an XpAwarded with reason goal_completed); then
 * CertificateIssued when the event completed a course.
 * An event that paid nothing and unlocked nothing (a failed quiz attempt, a watch short of the
 * threshold, an enrollment) tells nothing. Pure.
 */
export function eventsOfEntry(entry: FeedEntry, levels: LevelTable): LearnerEventData[] {
  const awards: { amount: number; reason: XpReason }[] = [];
  const own = 'x' in entry ? entry.x : 0;
  if (own > 0) awards.push({ amount: own, reason: entry.k === 'quiz_attempted' ? 'quiz_passed' : 'lesson_completed' });
  const badges = entry.aw ?? [];
  for (const [, xp] of badges) if (xp > 0) awards.push({ amount: xp, reason: 'badge_unlocked' });
  const goals = entry.gd ?? [];
  for (const [, , , , xp] of goals) if (xp > 0) awards.push({ amount: xp, reason: 'goal_completed' });

  const events: LearnerEventData[] = [];
  const after = entry.s.xp;
  const before = Math.max(0, after - awards.reduce((sum, a) => sum + a.amount, 0));
  let total = before;
  for (const a of awards) {
    total += a.amount;
    events.push({ type: 'XpAwarded', amount: a.amount, totalXp: total, reason: a.reason, occurredAt: entry.oa });
  }
  if (awards.length > 0) {
    const was = levelOf(before, levels);
    const now = levelOf(after, levels);
    if (now.level > was.level) events.push({ type: 'LevelUp', level: now.level, name: now.name, totalXp: after });
  }
  if (entry.st?.c) {
    const { changed: _, ...streak } = streakOfSnapshot(entry.st);
    events.push({ type: 'StreakUpdated', streak });
  }
  for (const [badgeId, , awardedAt] of badges) events.push({ type: 'BadgeUnlocked', learnerId: entry.l, badgeId, awardedAt });
  for (const [kind, day, target, current] of goals) events.push({ type: 'GoalCompleted', goal: { kind, date: dayString(day), target, current, completed: true } });
  if (entry.crt) events.push({ type: 'CertificateIssued', code: entry.crt.code, learnerId: entry.l, courseId: entry.crt.c, issuedAt: entry.crt.at });
  return events;
}

/**
 * A learner's events: what each of their outbox entries tells (eventsOfEntry, with the level
 * table in force when the entry arrives), merged with their rank changes when `ranks` is given.
 * Ending the stream (the client leaves) ends both sources at once; a source that fails ends it
 * with that error.
 */
export function learnerEventStream(
  updates: AsyncIterableIterator<LearnerUpdate>,
  ranks: AsyncIterableIterator<RankMove> | null,
  levels: () => LevelTable,
): AsyncIterableIterator<LearnerEventData> {
  return new Repeater<LearnerEventData>(async (push, stop) => {
    const drain = async <T>(source: AsyncIterator<T>, each: (value: T) => LearnerEventData[]) => {
      for (;;) {
        const r = await source.next();
        if (r.done) return;
        for (const event of each(r.value)) void push(event);
      }
    };
    Promise.all([
      drain(updates, (u) => eventsOfEntry(u, levels())),
      ranks ? drain(ranks, (move): LearnerEventData[] => [{ type: 'RankChange', move }]) : null,
    ]).then(
      () => stop(),
      (err: unknown) => stop(err as Error),
    );
    await stop;
    await Promise.all([updates.return?.(), ranks?.return?.()]);
  }, new SlidingBuffer(LEARNER_BUFFER));
}
