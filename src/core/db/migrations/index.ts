import { defineMigration, type Migration } from '../migration.js';
import * as m0001 from './0001_create_users.js';
import * as m0002 from './0002_create_predictions.js';
import * as m0003 from './0003_create_drift_histograms.js';
// mlctl:migration-imports (`mlctl db new` adds import lines above this one)

/**
 * Every migration, in the order they apply. Listed explicitly so that tsc compiles them
 * into the package: nothing is discovered by scanning folders at run time.
 * Never reorder or edit an applied migration; add a new one with `mlctl db new <name>`.
 */
export const MIGRATIONS: readonly Migration[] = [
  defineMigration('0001_create_users', m0001),
  defineMigration('0002_create_predictions', m0002),
  defineMigration('0003_create_drift_histograms', m0003),
  // mlctl:migration-list (`mlctl db new` adds entries above this one)
];
