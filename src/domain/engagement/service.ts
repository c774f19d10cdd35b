import type { EventService } from '../events/service';
import { eventPayloads } from '../events/types';
import { BadInput } from '../errors';
import { parseInput } from '../validation';

/** What `updateProfile` takes (ProfileInput): each field absent when unchanged; a null name clears it. */
export interface ProfileInput {
  displayName?: string | null | undefined;
  timeZone?: string | null | undefined;
}

/**
 * Profiles, streaks and (soon) daily goals. A profile change is an event like any other
 * (PROFILE_UPDATED, lua/profile-3.lua): the display name and the zone history change in the
 * learner's hash in one step, and the write-behind keeps them in Postgres.
 */
export class EngagementService {
  constructor(private readonly deps: { events: EventService }) {}

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
