import { z } from 'zod';
import { badgeCriteria } from '../badges/criteria';
import type { Level } from '../levels/rules';
import { levelTableInput } from '../levels/rules';
import type { CatalogStore, EventPublisher } from '../ports';
import { displayText, parseInput } from '../validation';
import { catalogId, courseFromInput, courseInput } from './input';
import { Catalog, type Badge, type Course } from './types';

/** `upsertBadge(input)`. */
export const badgeInput = z.object({
  /** Badge id. */
  id: catalogId,
  /** Display name. */
  name: displayText('A badge name', 100),
  /** What the learner did to earn it. */
  description: displayText('A description', 1000, { multiline: true, allowEmpty: true }).nullish(),
  /** An http(s) image URL, printable ASCII (anything else percent-encoded). */
  imageUrl: z
    .string()
    .max(2000)
    .regex(/^[\x21-\x7E]+$/, 'imageUrl holds printable ASCII only: percent-encode spaces and other characters.')
    .url()
    .refine((u) => /^https?:\/\//i.test(u), 'imageUrl must be an http(s) URL.')
    .nullish(),
  /** Unlock rule; see API.md for the shapes. */
  criteria: badgeCriteria,
  /** XP paid once on unlock. */
  xpReward: z.number().int().min(0).max(100_000).nullish(),
});

/**
 * The catalog: owned by Postgres, cached per process as one immutable snapshot, reloaded on
 * every instance when an admin changes it.
 */
export class CatalogService {
  private current: Catalog = Catalog.empty();
  private reloading: Promise<Catalog> | null = null;
  private again = false;

  constructor(
    private readonly store: CatalogStore,
    private readonly publisher: EventPublisher,
  ) {}

  /** The snapshot in force. */
  get(): Catalog {
    return this.current;
  }

  /** Reload from Postgres. Calls during a reload coalesce into one more reload after it. */
  async reload(): Promise<Catalog> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.again = false;
          this.current = await this.store.load();
        } while (this.again);
        return this.current;
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  /** Load `courses` and `badges` when the catalog is empty. @returns true when loaded */
  async seedIfEmpty(courses: readonly unknown[], badges: readonly unknown[]): Promise<boolean> {
    if (!(await this.store.isEmpty())) return false;
    for (const c of courses) await this.store.saveCourse(courseFromInput(parseInput(courseInput, c, 'demo')));
    for (const b of badges) await this.store.saveBadge(toBadge(parseInput(badgeInput, b, 'demo')));
    await this.changed();
    return true;
  }

  /**
   * Create or replace a course.
   * @throws BadInput
   */
  async upsertCourse(raw: unknown): Promise<Course> {
    const course = courseFromInput(parseInput(courseInput, raw, 'input'));
    await this.store.saveCourse(course);
    await this.changed();
    return this.current.course(course.id) ?? course;
  }

  /**
   * Create or replace a badge.
   * @throws BadInput
   */
  async upsertBadge(raw: unknown): Promise<Badge> {
    const badge = toBadge(parseInput(badgeInput, raw, 'input'));
    await this.store.saveBadge(badge);
    await this.changed();
    return this.current.badge(badge.id) ?? badge;
  }

  /**
   * Replace the level table.
   * @throws BadInput
   */
  async setLevels(raw: unknown): Promise<Level[]> {
    const levels = parseInput(levelTableInput, raw, 'levels');
    await this.store.saveLevels(levels);
    await this.changed();
    return levels;
  }

  private async changed(): Promise<void> {
    await this.reload();
    await this.publisher.catalogChanged();
  }
}

function toBadge(b: z.output<typeof badgeInput>): Badge {
  return {
    id: b.id,
    name: b.name,
    description: b.description ?? null,
    imageUrl: b.imageUrl ?? null,
    criteria: b.criteria,
    xpReward: b.xpReward ?? 0,
  };
}
