import { Repeater } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import type { Level } from '../domain/levels/rules';
import type { RankMove } from './feeds';
import { eventsOfEntry, learnerEventStream, type FeedEntry } from './learnerEvents';
import type { LearnerUpdate } from './learnerFeed';

const AT = Date.UTC(2026, 2, 14, 9, 30);
const LEVELS: Level[] = [
  { level: 1, name: 'Novice', minXp: 0 },
  { level: 2, name: 'Apprentice', minXp: 100 },
  { level: 3, name: 'Adept', minXp: 200 },
  { level: 4, name: null, minXp: 300 },
];

const ce = { i: 'enr-1', eat: AT - 86_400_000, x: 0, xat: 0, cc: 0, ec: 0 };
const common = { l: 'amy', e: '', id: 'evt-1', oa: AT, ra: AT + 5, v: 7, ep: 1 };

function lesson(over: { x: number; xp: number; aw?: [string, number, number][]; crt?: FeedEntry['crt'] }): FeedEntry {
  return { k: 'lesson_completed', ...common, c: 'c1', ls: 'c1-l3', x: over.x, ce, s: { xp: over.xp, lc: 3, xat: AT }, aw: over.aw, crt: over.crt };
}

describe('eventsOfEntry', () => {
  it('tells the lesson XP, each badge XP with running totals, the level up, the badges, then the certificate', () => {
    const entry = lesson({ x: 30, xp: 110, aw: [['first', 5, AT + 1], ['silent', 0, AT + 1], ['big', 10, AT + 1]], crt: { code: 'ABCD-EFGH', c: 'c1', at: AT + 2 } });
    expect(eventsOfEntry(entry, LEVELS)).toEqual([
      { type: 'XpAwarded', amount: 30, totalXp: 95, reason: 'lesson_completed', occurredAt: AT },
      { type: 'XpAwarded', amount: 5, totalXp: 100, reason: 'badge_unlocked', occurredAt: AT },
      { type: 'XpAwarded', amount: 10, totalXp: 110, reason: 'badge_unlocked', occurredAt: AT },
      { type: 'LevelUp', level: 2, name: 'Apprentice', totalXp: 110 },
      { type: 'BadgeUnlocked', learnerId: 'amy', badgeId: 'first', awardedAt: AT + 1 },
      { type: 'BadgeUnlocked', learnerId: 'amy', badgeId: 'silent', awardedAt: AT + 1 },
      { type: 'BadgeUnlocked', learnerId: 'amy', badgeId: 'big', awardedAt: AT + 1 },
      { type: 'CertificateIssued', code: 'ABCD-EFGH', learnerId: 'amy', courseId: 'c1', issuedAt: AT + 2 },
    ]);
  });

  it('sends one LevelUp with the new level when several are crossed at once', () => {
    const events = eventsOfEntry(lesson({ x: 250, xp: 310 }), LEVELS);
    expect(events.filter((e) => e.type === 'LevelUp')).toEqual([{ type: 'LevelUp', level: 4, name: null, totalXp: 310 }]);
  });

  it('sends no LevelUp within a level, and uses the default table when there is none', () => {
    expect(eventsOfEntry(lesson({ x: 10, xp: 90 }), LEVELS).map((e) => e.type)).toEqual(['XpAwarded']);
    // Default table: level 1 at 100 XP, level 2 at 400.
    expect(eventsOfEntry(lesson({ x: 10, xp: 105 }), null)).toContainEqual({ type: 'LevelUp', level: 1, name: null, totalXp: 105 });
    expect(eventsOfEntry(lesson({ x: 10, xp: 395 }), null).map((e) => e.type)).toEqual(['XpAwarded']);
  });

  it('leaves out awards of 0 XP and tells nothing for an event that paid and unlocked nothing', () => {
    expect(eventsOfEntry(lesson({ x: 0, xp: 40 }), LEVELS)).toEqual([]);
    const failed: FeedEntry = { k: 'quiz_attempted', ...common, c: 'c1', q: 'q1', n: 2, sc: 40, ps: false, x: 0, b: 60, ce, s: { xp: 40, lc: 3, xat: AT } };
    expect(eventsOfEntry(failed, LEVELS)).toEqual([]);
    const enrolled: FeedEntry = { k: 'enrolled', ...common, c: 'c1', ce, s: { xp: 0, lc: 0, xat: 0 } };
    expect(eventsOfEntry(enrolled, LEVELS)).toEqual([]);
    const watching: FeedEntry = { k: 'watched', ...common, c: 'c1', ls: 'c1-l1', sec: 30, w: 30, wt: 30, wu: AT, cd: false, dn: false, x: 0, vd: true, ce, s: { xp: 0, lc: 0, xat: 0 } };
    expect(eventsOfEntry(watching, LEVELS)).toEqual([]);
  });

  it('names a quiz pass quiz_passed and a completing watch lesson_completed', () => {
    const passed: FeedEntry = { k: 'quiz_attempted', ...common, c: 'c1', q: 'q1', n: 1, sc: 90, ps: true, x: 20, b: 90, ce, s: { xp: 60, lc: 3, xat: AT } };
    expect(eventsOfEntry(passed, LEVELS)).toEqual([{ type: 'XpAwarded', amount: 20, totalXp: 60, reason: 'quiz_passed', occurredAt: AT }]);
    const watched: FeedEntry = { k: 'watched', ...common, c: 'c1', ls: 'c1-l1', sec: 300, w: 300, wt: 300, wu: AT, cd: true, dn: true, x: 15, vd: true, ce, s: { xp: 15, lc: 1, xat: AT } };
    expect(eventsOfEntry(watched, LEVELS)).toEqual([{ type: 'XpAwarded', amount: 15, totalXp: 15, reason: 'lesson_completed', occurredAt: AT }]);
  });

  it('tells a badge unlocked by an enrollment, with its XP', () => {
    const enrolled: FeedEntry = { k: 'enrolled', ...common, c: 'c1', ce, s: { xp: 25, lc: 0, xat: AT }, aw: [['joiner', 25, AT]] };
    expect(eventsOfEntry(enrolled, LEVELS).map((e) => e.type)).toEqual(['XpAwarded', 'BadgeUnlocked']);
    expect(eventsOfEntry(enrolled, LEVELS)[0]).toMatchObject({ totalXp: 25, reason: 'badge_unlocked' });
  });
});

describe('learnerEventStream', () => {
  function source<T>() {
    let push!: (v: T) => Promise<unknown>;
    let returned = false;
    const it = new Repeater<T>(async (p, stop) => {
      push = p;
      await stop;
      returned = true;
    });
    return { it, push: (v: T) => push(v), returned: () => returned };
  }

  it('merges entries and rank moves, and ends both sources when the client leaves', async () => {
    const updates = source<LearnerUpdate>();
    const ranks = source<RankMove>();
    const stream = learnerEventStream(updates.it, ranks.it, () => LEVELS);
    const first = stream.next();
    await updates.push(lesson({ x: 30, xp: 30 }));
    expect((await first).value).toMatchObject({ type: 'XpAwarded', amount: 30 });
    const move: RankMove = { boardId: 'g:all', learnerId: 'amy', previousRank: null, rank: 1, score: 30 };
    await ranks.push(move);
    expect((await stream.next()).value).toEqual({ type: 'RankChange', move });
    // A pending next() does not hold the sources.
    const pending = stream.next();
    await stream.return!();
    expect((await pending).done).toBe(true);
    expect(updates.returned() && ranks.returned()).toBe(true);
  });

  it('ends with the error of a source that fails', async () => {
    const updates = source<LearnerUpdate>();
    const failing = new Repeater<RankMove>((_push, stop) => stop(new Error('no position')));
    const stream = learnerEventStream(updates.it, failing, () => LEVELS);
    await expect(stream.next()).rejects.toThrow('no position');
    expect(updates.returned()).toBe(true);
  });
});
