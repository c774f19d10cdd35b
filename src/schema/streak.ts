import { builder } from './builder';

/** A learner's streak as the API shows it. */
export interface StreakView {
  current: number;
  longest: number;
  /** YYYY-MM-DD in the learner's zone; null before any active day. */
  lastActiveDate: string | null;
  activeToday: boolean;
  freezesAvailable: number;
}

export const StreakRef = builder.objectRef<StreakView>('Streak').implement({
  fields: (t) => ({
    current: t.exposeInt('current', { description: 'Consecutive learning days ending today or yesterday; 0 once broken.' }),
    longest: t.exposeInt('longest'),
    lastActiveDate: t.field({ type: 'Date', nullable: true, resolve: (s) => s.lastActiveDate }),
    activeToday: t.exposeBoolean('activeToday'),
    freezesAvailable: t.exposeInt('freezesAvailable'),
  }),
});

