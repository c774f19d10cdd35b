import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema as schemaFromSdl, findBreakingChanges } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, servedSchemaSdl } from '../src/cli/schema';

const CONTRACT = fileURLToPath(new URL('../../shared/contract/schema.graphql', import.meta.url));

describe('schema.graphql (the checked-in SDL clients generate from)', () => {
  const checkedIn = readFileSync(SCHEMA_FILE, 'utf8');

  it('is what the server serves today (run `npm run schema` when this fails)', () => {
    // Compared as text: a changed description is a change a client's tooling sees too.
    expect(checkedIn).toBe(servedSchemaSdl());
  });

  it('breaks nothing of the public contract', () => {
    const contract = schemaFromSdl(readFileSync(CONTRACT, 'utf8'));
    const exported = schemaFromSdl(checkedIn);
    expect(findBreakingChanges(contract, exported).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
