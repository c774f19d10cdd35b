import { isValidDay } from '../activity/days';
import type { EventService } from '../events/service';
import type { Clock, LearnerReads } from '../ports';
import type { EngagementFacts } from './facts';
import { GOAL_DAYS, goalsOf, type DailyGoal } from './goals';
import { dayAt, dayNumber, dayString } from './zones';
import { eventPayloads } from '../events/types';
import { BadInput } from '../errors';
import { parseInput } from '../validation';

/** What `updateProfile` takes (ProfileInput): each field absent when unchanged; a null name clears it. */
export interface ProfileInput {
  displayName?: string | null | undefined;
  timeZone?: string | null | undefined;
}

/**
 * Profiles, streaks and daily goals. A profile change is an event like any other
 * (PROFILE_UPDATED, lua/profile-3.lua): the display name and the zone history change in the
 * learner's hash in one step, and the write-behind keeps them in Postgres.
 */
export class EngagementService {
  constructor(private readonly deps: { events: EventService; learners: LearnerReads; clock: Clock }) {}

  /**
   * Set the target of one kind of daily goal from today (the learner's day) on; 0 removes it.
   * Reaching a target completes the goal once and pays the bonus (now, if today's count is
   * already there). @returns today's goal of that kind (target 0: the goal removed)
   * @throws BadInput naming `kind` / `target`, Unavailable
   */
  async setDailyGoal(learnerId: string, kind: string, target: number, eventId?: string | null): Promise<DailyGoal> {
    const payload = parseInput(eventPayloads.GOAL_SET, { kind, target }, '');
    const { events } = this.deps;
    const done = await events.applyOne(events.build('GOAL_SET', learnerId, payload, eventId));
    const at = done.prepared.event.occurredAt;
    const facts = await this.deps.learners.engagement(learnerId, at);
    const day = dayAt(facts.zones, at);
    const goals = await this.dailyGoalsOn(learnerId, facts, day);
    return goals.find((g) => g.kind === payload.kind) ?? { kind: payload.kind, date: dayString(day), target: 0, current: 0, completed: false };
  }

  /**
   * The goals of a learning day ('YYYY-MM-DD'; default: today in the learner's zone), one per
   * kind with a target. Recent days come from the learner's hash, older ones from Postgres.
   * @throws BadInput for a date that is not a real day
   */
  async dailyGoals(learnerId: string, date: string | null): Promise<DailyGoal[]> {
    if (date !== null && !isValidDay(date)) throw new BadInput('Invalid date: a day is YYYY-MM-DD.', 'date');
    const now = this.deps.clock.now();
    const facts = await this.deps.learners.engagement(learnerId, now);
    return this.dailyGoalsOn(learnerId, facts, date === null ? dayAt(facts.zones, now) : dayNumber(date));
  }

  private async dailyGoalsOn(learnerId: string, facts: EngagementFacts, day: number): Promise<DailyGoal[]> {
    let record = facts.goalDays.find((g) => g.day === day) ?? null;
    // The hash keeps the newest GOAL_DAYS days; an older day is in Postgres when it had any.
    const kept = facts.goalDays.map((g) => g.day);
    if (!record && kept.length >= GOAL_DAYS && day < Math.min(...kept)) record = await this.deps.learners.goalDay(learnerId, day);
    return goalsOf(record, day, dayString(day), facts.goalTargets, facts.goalTargetsFrom);
  }

  /**
   * Set the display name and/or time zone. A zone is an IANA name (canonicalised); a new zone
   * applies to events that occur from now on, earlier days stay where they were counted.
   * @throws BadInput naming `input.displayName` / `input.timeZone`, Unavailable
   */
  async updateProfile(learnerId: string, input: ProfileInput): Promise<void> {
    if (input.timeZone === null) throw new BadInput('Invalid input.timeZone: a time zone cannot be null; leave it out to keep yours.', 'input.timeZone');
    const payload = parseInput(
      eventPayloads.PROFILE_UPDATED,
      { ...(input.displayName !== undefined ? { displayName: input.displayName } : {}), ...(input.timeZone !== undefined ? { timeZone: input.timeZone } : {}) },
      'input',
    );
    const { events } = this.deps;
    await events.applyOne(events.build('PROFILE_UPDATED', learnerId, payload));
  }
}
