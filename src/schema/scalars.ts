import { Kind } from 'graphql';
import { BadInput } from '../domain/errors';
import { jsonShapeProblem } from '../domain/validation';
import { builder } from './builder';

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseInstant(value: unknown): Date {
  const s = typeof value === 'string' ? value : '';
  // The calendar parts must be a real date and time: no February 30th, no 24:00.
  const valid =
    ISO_INSTANT.test(s) && isCalendarDate(s.slice(0, 10)) &&
    Number(s.slice(11, 13)) <= 23 &&
    Number(s.slice(14, 16)) <= 59 &&
    (s[16] !== ':' || Number(s.slice(17, 19)) <= 59) &&
    !Number.isNaN(Date.parse(s));
  if (!valid) throw new BadInput('A DateTime is an ISO-8601 instant with an offset, e.g. 2026-11-22T10:30:00Z.');
  return new Date(s);
}

function isCalendarDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

builder.scalarType('DateTime', {
  description: 'An instant, ISO-8601 with offset, e.g. 2026-11-22T10:30:00Z.',
  serialize: (v) => new Date(v).toISOString(),
  parseValue: parseInstant,
  parseLiteral: (ast) => parseInstant(ast.kind === Kind.STRING ? ast.value : null),
});

builder.scalarType('Date', {
  description: "A calendar day in the learner's time zone, YYYY-MM-DD.",
  serialize: (v) => v,
  parseValue: (v) => {
    if (typeof v !== 'string' || !isCalendarDate(v)) throw new BadInput('A Date is a calendar day, YYYY-MM-DD.');
    return v;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || !isCalendarDate(ast.value)) throw new BadInput('A Date is a calendar day, YYYY-MM-DD.');
    return ast.value;
  },
});

function literalToJson(ast: import('graphql').ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw new BadInput('Unsupported JSON literal.');
  }
}

/** A JSON argument within JSON_LIMITS, checked without recursion. @throws BadInput */
function boundedJson(value: unknown): unknown {
  const problem = jsonShapeProblem(value);
  if (problem) throw new BadInput(`A JSON value ${problem}.`);
  return value;
}

builder.scalarType('JSON', {
  description: 'Any JSON value (badge criteria), nesting at most 16 levels and holding at most 1000 values.',
  serialize: (v) => v,
  parseValue: boundedJson,
  // A literal's nesting is bounded by the query's token limit before it gets here.
  parseLiteral: (ast, variables) => boundedJson(literalToJson(ast, variables)),
});

/** GraphQL's Int is 32-bit: a sum that could pass it (watch seconds over many lessons) saturates rather than fail the field. */
export function saturatedInt(n: number): number {
  return Math.min(n, 2_147_483_647);
}
