import { z } from 'zod';
import { BadInput } from './errors';

/**
 * Parse `value` with a zod schema or throw BadInput naming the offending field
 * (`root.path.to.field`) and saying what is wrong in one sentence.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = [root, ...issue.path.map(String)].filter(Boolean).join('.');
  const message = issue.message.endsWith('.') ? issue.message : `${issue.message}.`;
  throw new BadInput(`Invalid ${field}: ${message}`, field);
}

/**
 * An opaque id as callers send it (a learner id, an event id): printable, no spaces, at most 200
 * characters, well-formed UTF-16. `noun` starts the messages: "A learner id cannot be empty."
 */
export function printableId(noun: string) {
  return z
    .string()
    .min(1, `${noun} cannot be empty.`)
    .max(200, `${noun} has at most 200 characters.`)
    .regex(/^[^\s\p{Cc}]+$/u, `${noun} cannot hold spaces or control characters.`)
    .refine(isWellFormed, `${noun} cannot hold a lone surrogate (invalid UTF-16).`);
}

/**
 * Whether a string is well-formed UTF-16: no lone surrogate. Lone surrogates cannot be stored
 * as UTF-8, so `\ud800` and `\udbff` would both become U+FFFD and name the same thing.
 */
export function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}
