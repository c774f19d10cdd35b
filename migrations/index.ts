import { Migration20261122000000_core } from './Migration20261122000000_core';
import { Migration20261122120000_write_path } from './Migration20261122120000_write_path';
import { Migration20261123000000_epochs } from './Migration20261123000000_epochs';
import { Migration20261123010000_watermarks } from './Migration20261123010000_watermarks';
import { Migration20261124000000_quizAttempts } from './Migration20261124000000_quizAttempts';
import { Migration20261125000000_watchTime } from './Migration20261125000000_watchTime';
import { Migration20261126000000_certificates } from './Migration20261126000000_certificates';
import { Migration20261126120000_activity } from './Migration20261126120000_activity';
import { Migration20261127000000_watchBigint } from './Migration20261127000000_watchBigint';
import { Migration20261128000000_profiles } from './Migration20261128000000_profiles';
import { Migration20261128000000_periodBoards } from './Migration20261128000000_periodBoards';
import { Migration20261128120000_goals } from './Migration20261128120000_goals';

/** Every migration in order. Committed migrations are never edited; add a new one instead. */
export const migrationsList = [
  { name: 'Migration20261122000000_core', class: Migration20261122000000_core },
  { name: 'Migration20261122120000_write_path', class: Migration20261122120000_write_path },
  { name: 'Migration20261123000000_epochs', class: Migration20261123000000_epochs },
  { name: 'Migration20261123010000_watermarks', class: Migration20261123010000_watermarks },
  { name: 'Migration20261124000000_quizAttempts', class: Migration20261124000000_quizAttempts },
  { name: 'Migration20261125000000_watchTime', class: Migration20261125000000_watchTime },
  { name: 'Migration20261126000000_certificates', class: Migration20261126000000_certificates },
  { name: 'Migration20261126120000_activity', class: Migration20261126120000_activity },
  { name: 'Migration20261127000000_watchBigint', class: Migration20261127000000_watchBigint },
  { name: 'Migration20261128000000_profiles', class: Migration20261128000000_profiles },
  { name: 'Migration20261128000000_periodBoards', class: Migration20261128000000_periodBoards },
  { name: 'Migration20261128120000_goals', class: Migration20261128120000_goals },
];
