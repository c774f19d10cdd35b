import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema as schemaFromSdl, DangerousChangeType, findBreakingChanges, findDangerousChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from './index';

const CONTRACT = fileURLToPath(new URL('../../../shared/contract/schema.graphql', import.meta.url));

/**
 * Contract fields later issues will build. This list only shrinks: an entry that is no
 * longer a breaking change fails the test until it is removed from here.
 */
const PENDING: string[] = [
  // Empty: every contract field is served. Keep it so; a later break must be listed and argued here.
];

/** Additions the contract allows ("add freely"); every other dangerous change is a change of meaning. */
const ALLOWED_DANGEROUS = new Set<string>([
  DangerousChangeType.OPTIONAL_ARG_ADDED,
  DangerousChangeType.VALUE_ADDED_TO_ENUM,
  DangerousChangeType.TYPE_ADDED_TO_UNION,
  DangerousChangeType.OPTIONAL_INPUT_FIELD_ADDED,
  DangerousChangeType.IMPLEMENTED_INTERFACE_ADDED,
]);

describe('the served schema against the contract', () => {
  const contract = schemaFromSdl(readFileSync(CONTRACT, 'utf8'));
  const served = buildSchema();
  const breaking = findBreakingChanges(contract, served).map((c) => `${c.type}: ${c.description}`);

  it('breaks nothing except what is still pending', () => {
    expect(breaking.filter((b) => !PENDING.includes(b))).toEqual([]);
  });

  it('has no pending entry that is already built (the list only shrinks)', () => {
    expect(PENDING.filter((p) => !breaking.includes(p))).toEqual([]);
  });

  it('changes no default value or meaning of what the contract has', () => {
    const dangerous = findDangerousChanges(contract, served).filter((c) => !ALLOWED_DANGEROUS.has(c.type));
    expect(dangerous.map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
