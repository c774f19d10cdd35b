import { Migration20261122000000_core } from './Migration20261122000000_core';

/** Every migration in order. Committed migrations are never edited; add a new one instead. */
export const migrationsList = [
  { name: 'Migration20261122000000_core', class: Migration20261122000000_core },
];
