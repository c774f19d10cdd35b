import { z } from 'zod';
import { BadInput, quoted } from './errors';

/**
 * Parse `value` with a zod schema or throw BadInput naming the offending field
 * (`root.path.to.field`) and saying what is wrong in one sentence. Messages and field paths
 * that quote what was sent (zod quotes unknown keys) are cut short.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = quoted([root, ...issue.path.map(String)].filter(Boolean).join('.'), 200);
  const message = shortenQuotes(issue.message.endsWith('.') ? issue.message : `${issue.message}.`);
  throw new BadInput(`Invalid ${field}: ${message}`, field);
}

/** Longest part of a value a message may quote. */
export const QUOTE_MAX = 64;

/**
 * A message with every double-quoted part longer than {@link QUOTE_MAX} cut to a prefix, and
 * characters that could hide or reorder text escaped (see `quoted`). For messages made by
 * libraries (zod, graphql-js) that quote whatever was sent.
 */
export function shortenQuotes(message: string, max = 400): string {
  const cut = message.replace(/"((?:[^"\\]|\\.)*)"/g, (_m, inner: string) => `"${quoted(inner, QUOTE_MAX)}"`);
  return cut.length > max ? `${quoted(cut, max)}` : quoted(cut, Infinity);
}

// --- What an id and a display text may hold --------------------------------------------
//
// One rule for every id a caller sends (learner ids, token subjects, event ids) and one for
// every text shown to others (titles, names, descriptions). Catalog ids (courses, modules,
// lessons, quizzes, badges) are stricter still: ASCII letters, digits and _ . : - only
// (`catalogId`).

/** Lone UTF-16 surrogates: storage turns each into U+FFFD, so `a\ud800` and `a\udfff` would be one id. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** U+FFFD, what a decoder puts in place of bytes that are not UTF-8, and the noncharacters. */
const REPLACEMENT_OR_NONCHARACTER = /[\uFFFD\p{Noncharacter_Code_Point}]/u;
/** Bidi overrides, embeddings, isolates and marks (U+202A-202E, U+2066-2069, U+200E/200F, U+061C). */
const BIDI_CONTROL = /\p{Bidi_Control}/u;
/**
 * Characters that render as nothing: zero-width space, joiners, word joiner, BOM, soft hyphen,
 * variation selectors, Hangul fillers, tags... (Unicode's Default_Ignorable_Code_Point, which
 * includes the bidi controls.)
 */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
/** C0 and C1 controls (NUL, ESC, DEL, U+0080-009F...) and other format characters. */
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/u;
/** Spaces of every kind, line and paragraph separators. */
const SPACE = /[\s\p{Z}]/u;

/** Whether a string is well-formed UTF-16: no lone surrogate. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/**
 * What is wrong with an id, in a few words, or null when it may be used as one. An id is
 * compared byte for byte and shown on public boards, so it must look like what it is: no
 * spaces, controls, bidi controls or invisible characters, no lone surrogates or U+FFFD, and
 * in Unicode NFC form. A non-NFC id is refused, not normalised: then two spellings of one
 * name can never become two learners, nor one learner silently. Pure.
 */
export function idProblem(s: string): string | null {
  if (!isWellFormed(s)) return 'cannot hold a lone surrogate (invalid UTF-16)';
  if (REPLACEMENT_OR_NONCHARACTER.test(s)) return 'cannot hold U+FFFD or a noncharacter (bytes that were not UTF-8)';
  if (BIDI_CONTROL.test(s)) return 'cannot hold bidirectional controls';
  if (CONTROL_OR_FORMAT.test(s) || INVISIBLE.test(s)) return 'cannot hold control or invisible characters';
  if (SPACE.test(s)) return 'cannot hold spaces';
  if (s.normalize('NFC') !== s) return 'must be in Unicode NFC form (compose accents: "é", not "e" + U+0301)';
  return null;
}

/**
 * An opaque id as callers send it (a learner id, an event id, a token's subject): 1-200
 * characters that pass {@link idProblem}. `noun` starts the messages: "A learner id cannot be
 * empty."
 */
export function printableId(noun: string) {
  return z
    .string()
    .min(1, `${noun} cannot be empty.`)
    .max(200, `${noun} has at most 200 characters.`)
    .superRefine((s, ctx) => {
      const problem = idProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: `${noun} ${problem}.` });
    });
}

const VARIATION_SELECTOR = /[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u;
const JOINER = /[\u200C\u200D]/;

/**
 * What is wrong with a display text (already NFC), or null. Refused: lone surrogates, U+FFFD,
 * noncharacters, bidi controls, control characters (tab and line breaks are allowed in
 * `multiline` text) and invisible characters, with two exceptions that scripts and emoji need:
 * a zero-width joiner or non-joiner between two visible characters (Persian, Indic scripts,
 * emoji sequences such as 👩‍💻) and a variation selector right after a visible character (❤️).
 * Pure.
 */
export function textProblem(s: string, multiline = false): string | null {
  if (!isWellFormed(s)) return 'cannot hold a lone surrogate (invalid UTF-16)';
  if (REPLACEMENT_OR_NONCHARACTER.test(s)) return 'cannot hold U+FFFD or a noncharacter (bytes that were not UTF-8)';
  if (BIDI_CONTROL.test(s)) return 'cannot hold bidirectional controls';
  const chars = [...s];
  const visible = (c: string | undefined) => c !== undefined && !SPACE.test(c) && !CONTROL_OR_FORMAT.test(c) && !INVISIBLE.test(c);
  for (let i = 0; i < chars.length; i += 1) {
    const c = chars[i]!;
    if (c === '\u0000') return 'cannot hold NUL characters';
    if (/\p{Cc}/u.test(c)) {
      if (multiline && (c === '\n' || c === '\r' || c === '\t')) continue;
      return multiline ? 'cannot hold control characters other than tabs and line breaks' : 'cannot hold control characters or line breaks';
    }
    if (!CONTROL_OR_FORMAT.test(c) && !INVISIBLE.test(c)) continue;
    const before = chars[i - 1];
    if (VARIATION_SELECTOR.test(c) && visible(before)) continue;
    const joined = visible(before) || (VARIATION_SELECTOR.test(before ?? '') && visible(chars[i - 2]));
    if (JOINER.test(c) && joined && visible(chars[i + 1])) continue;
    return 'cannot hold invisible characters (zero-width spaces, joiners out of place, BOM...)';
  }
  return null;
}

/**
 * A text shown to others (a title, a name, a description): trimmed, normalised to NFC (two
 * spellings of "é" become one; nothing visible changes), 1..`max` characters (0..`max` with
 * `allowEmpty`), and free of what {@link textProblem} refuses.
 */
export function displayText(noun: string, max: number, options: { multiline?: boolean; allowEmpty?: boolean } = {}) {
  return z
    .string()
    .max(max * 4, `${noun} has at most ${max} characters.`)
    .transform((s) => (isWellFormed(s) ? s.normalize('NFC') : s).trim())
    .pipe(
      z
        .string()
        .min(options.allowEmpty ? 0 : 1, `${noun} cannot be empty.`)
        .max(max, `${noun} has at most ${max} characters.`)
        .superRefine((s, ctx) => {
          const problem = textProblem(s, options.multiline);
          if (problem) ctx.addIssue({ code: 'custom', message: `${noun} ${problem}.` });
        }),
    );
}

// --- JSON values (badge criteria) ---------------------------------------------------------

/** Deepest nesting and most values a JSON argument may have; checked without recursion. */
export const JSON_LIMITS = { maxDepth: 16, maxNodes: 1000 } as const;

/**
 * Whether a JSON value nests deeper than `maxDepth` (a scalar is depth 0; `[]` and `{}` are
 * 1) or holds more than `maxNodes` values, found with an explicit stack: a value nested
 * 100,000 deep costs `maxDepth` steps, not a stack overflow. Pure.
 * @returns what is wrong, or null
 */
export function jsonShapeProblem(value: unknown, limits: { maxDepth: number; maxNodes: number } = JSON_LIMITS): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    nodes += 1;
    if (nodes > limits.maxNodes) return `holds at most ${limits.maxNodes} values`;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limits.maxDepth) return `nests at most ${limits.maxDepth} levels deep`;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    // Every value stacked is counted once popped: stop before stacking a huge array.
    if (nodes + stack.length + children.length > limits.maxNodes) return `holds at most ${limits.maxNodes} values`;
    for (const child of children) stack.push([child, depth + 1]);
  }
  return null;
}
