import { describe, expect, it } from 'vitest';
import { learnerId } from './auth/viewer';
import { badgeCriteria } from './badges/criteria';
import { courseInput } from './catalog/input';
import { quoted } from './errors';
import { eventId } from './events/types';
import { displayText, idProblem, isWellFormed, jsonShapeProblem, parseInput, shortenQuotes, textProblem } from './validation';
import { BadInput } from './errors';

describe('ids', () => {
  it('refuse lone surrogates, which storage would turn into the same U+FFFD', () => {
    expect(isWellFormed('😀 ok')).toBe(true);
    expect(isWellFormed('lone\ud800')).toBe(false);
    expect(isWellFormed('lone\udbff')).toBe(false);
    expect(isWellFormed('\udc00first')).toBe(false);
    expect(eventId.safeParse('lone\ud800').success).toBe(false);
    expect(learnerId.safeParse('amy\udfff').success).toBe(false);
    expect(learnerId.safeParse('amy😀').success).toBe(true);
  });

  it('refuse U+FFFD, so bytes that were not UTF-8 never name an existing id', () => {
    expect(learnerId.safeParse('lone\ufffd').success).toBe(false);
    expect(learnerId.safeParse('lone\uffff').success).toBe(false);
  });

  it('refuse NUL, C0 and C1 controls, bidi controls and invisible characters', () => {
    const hostile = ['a\u0000', 'a\u001b[31m', 'a\u0085', 'a\u009f', 'ad\u202emin', 'a\u2066b', 'a\u200eb', 'a\u061cb', 'a\u200bb', 'a\u200cb', 'a\u200db', 'a\u2060b', '\ufeffa', 'a\u00adb', 'a\u3164b', 'a\u{e0041}'];
    for (const id of hostile) expect(idProblem(id), JSON.stringify(id)).not.toBeNull();
    expect(learnerId.safeParse('ad\u202emin').error?.issues[0]?.message).toBe('A learner id cannot hold bidirectional controls.');
  });

  it('must be NFC: a decomposed accent is refused, the composed one passes', () => {
    expect(learnerId.safeParse('jose\u0301').error?.issues[0]?.message).toMatch(/NFC/);
    expect(learnerId.safeParse('josé').success).toBe(true);
    expect(learnerId.safeParse('李小龙@example.cn').success).toBe(true);
  });

  it('are echoed short, with control and invisible characters escaped', () => {
    expect(quoted('a'.repeat(100))).toBe(`${'a'.repeat(60)}…`);
    expect(quoted('nul\u0000here')).toBe('nul\\u0000here');
    expect(quoted('ad\u202emin')).toBe('ad\\u202emin');
    // A cut never leaves half a surrogate pair behind.
    expect(isWellFormed(quoted('😀'.repeat(100), 5))).toBe(true);
    expect(quoted('😀'.repeat(100), 5)).toBe(`${'😀'.repeat(5)}…`);
  });
});

describe('display text', () => {
  const title = displayText('A title', 20);
  const description = displayText('A description', 50, { multiline: true, allowEmpty: true });

  it('is normalised to NFC and trimmed', () => {
    expect(title.parse('  Cafe\u0301  ')).toBe('Café');
    expect(description.parse('')).toBe('');
  });

  it('refuses NUL, controls, bidi controls, lone surrogates and invisible characters', () => {
    for (const s of ['a\u0000b', 'a\u0007', 'a\u202eb', 'a\u2067b', 'a\u200bb', 'a\ufeffb', 'a\ud800', 'a\ufffd', 'line\nbreak', 'x\u200d', '\u200dx', 'a \u200c b']) {
      expect(title.safeParse(s).success, JSON.stringify(s)).toBe(false);
    }
    expect(title.safeParse('a\u0000b').error?.issues[0]?.message).toBe('A title cannot hold NUL characters.');
  });

  it('keeps what scripts and emoji need: joiners between letters, variation selectors, line breaks in descriptions', () => {
    expect(textProblem('می\u200cخواهم')).toBeNull(); // Persian "I want", ZWNJ between letters
    expect(textProblem('👩\u200d💻 coder')).toBeNull();
    expect(textProblem('I ❤\ufe0f TS')).toBeNull();
    expect(textProblem('❤\ufe0f\u200d🔥')).toBeNull();
    expect(description.parse('first line\nsecond\tline')).toBe('first line\nsecond\tline');
  });

  it('counts its length after normalisation', () => {
    expect(title.safeParse('e\u0301'.repeat(20)).success).toBe(true);
    expect(title.safeParse('e'.repeat(21)).success).toBe(false);
  });
});

describe('JSON bounds', () => {
  it('finds nesting 100,000 deep without recursing', () => {
    let deep: unknown = { type: 'xp_total', value: 1 };
    for (let i = 0; i < 100_000; i += 1) deep = { all: [deep] };
    expect(jsonShapeProblem(deep, { maxDepth: 8, maxNodes: 200 })).toMatch(/nests at most 8/);
    expect(badgeCriteria.safeParse(deep).error?.issues[0]?.message).toBe('Criteria nest at most 4 levels deep.');
  });

  it('counts values, refusing a wide value before walking it', () => {
    expect(jsonShapeProblem(Array.from({ length: 100_000 }, () => 1), { maxDepth: 8, maxNodes: 200 })).toMatch(/at most 200 values/);
    expect(jsonShapeProblem({ a: [1, 2, { b: null }] }, { maxDepth: 3, maxNodes: 10 })).toBeNull();
    expect(jsonShapeProblem({ a: [1, 2, { b: [] }] }, { maxDepth: 3, maxNodes: 10 })).toMatch(/nests/);
    expect(badgeCriteria.safeParse({ any: Array.from({ length: 1000 }, () => ({ type: 'xp_total', value: 1 })) }).success).toBe(false);
  });
});

describe('parseInput', () => {
  it('quotes at most a short prefix of what was sent', () => {
    const key = 'k'.repeat(10_000);
    let err: unknown;
    try {
      parseInput(badgeCriteria, { type: 'xp_total', value: 1, [key]: 1 }, 'criteria');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadInput);
    expect((err as BadInput).message.length).toBeLessThan(200);
    expect(shortenQuotes(`got "${'x'.repeat(500)}" there`)).toBe(`got "${'x'.repeat(64)}…" there`);
  });

  it('names the field of a NUL in a lesson title', () => {
    const course = { id: 'c', title: 'C', modules: [{ id: 'm', title: 'M', lessons: [{ id: 'l', title: 'a\u0000', kind: 'VIDEO', xpReward: 1 }] }] };
    expect(() => parseInput(courseInput, course, 'input')).toThrow(expect.objectContaining({ field: 'input.modules.0.lessons.0.title' }));
  });
});
