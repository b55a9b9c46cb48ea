import { defineMigration, type Migration } from '../../../db/migration.js';
import type { MigrationTables } from '../../../db/migrator.js';
import * as m0001 from './0001_create_tracking_tables.js';

/**
 * The tracking store's migrations, in order, compiled into the package (nothing is discovered
 * at run time). Applied by `mlctl tracking migrate` with the user database's migrator, into
 * their own bookkeeping tables. Never reorder or edit an applied migration; add a new one.
 */
export const TRACKING_MIGRATIONS: readonly Migration[] = [defineMigration('0001_create_tracking_tables', m0001)];

export const TRACKING_MIGRATION_TABLES: MigrationTables = { migrations: 'mlctl_tracking_migrations', events: 'mlctl_tracking_migration_events' };
