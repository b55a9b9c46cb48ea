import { existsSync } from 'node:fs';
import type { PredictionRecord, PredictionRetention, PruneResult } from '../db/predictions-repository.js';
import type { HistogramStore } from '../monitoring/histogram-store.js';
import { parseDatabaseUrl, redactDatabaseUrl } from '../db/db-url.js';
import type { UserStore } from './user-store.js';

/**
 * The database as the daemon sees it: usable (users routes, prediction logging) only when
 * it exists and every migration is applied. The daemon never creates a database or runs
 * migrations; without one it serves predictions and answers /users with a clear 404.
 */
export type ServingDatabase =
  | {
      readonly available: true;
      readonly target: string;
      readonly users: UserStore;
      readonly recordPredictions: (rows: readonly PredictionRecord[]) => Promise<number>;
      /** Removes stored predictions outside the retention, in small batches that yield between them. */
      readonly prunePredictions: (retention: PredictionRetention) => Promise<PruneResult>;
      /** The drift_histograms table. */
      readonly histograms: HistogramStore;
      /** Deletes histogram windows older than `maxAgeMs`, in small batches that yield between them; returns the rows deleted. */
      readonly pruneHistograms: (maxAgeMs: number) => Promise<number>;
      close(): Promise<void>;
    }
  | { readonly available: false; readonly reason: string };

export async function connectServingDatabase(databaseUrl: string, cwd: string): Promise<ServingDatabase> {
  let location;
  try {
    location = parseDatabaseUrl(databaseUrl, cwd);
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
  if (location.dialect === 'sqlite') {
    if (location.memory) return { available: false, reason: 'an in-memory SQLite database holds no users' };
    // Opening would create an empty file: a missing database is simply not configured.
    if (!existsSync(location.path)) return { available: false, reason: `no database at ${location.path}; create it with \`mlctl db migrate\`` };
  }
  const [{ openDatabase }, { getMigrationStatus }, { MIGRATIONS }, { recordPredictions, prunePredictions }, { createDatabaseUserStore }, { createSqlHistogramStore, pruneHistograms }] = await Promise.all([
    import('../db/create-database.js'),
    import('../db/migrator.js'),
    import('../db/migrations/index.js'),
    import('../db/predictions-repository.js'),
    import('./user-store.js'),
    import('../monitoring/sql-histogram-store.js'),
  ]);
  let database;
  try {
    database = await openDatabase(databaseUrl, cwd);
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
  try {
    const status = await getMigrationStatus(database, MIGRATIONS);
    const pending = status.migrations.filter((m) => m.state === 'pending');
    if (pending.length > 0) {
      await database.close();
      return {
        available: false,
        reason: `the database at ${database.target} is not migrated (${pending.map((m) => m.name).join(', ')} pending); run \`mlctl db migrate\``,
      };
    }
  } catch (error) {
    await database.close().catch(() => {});
    return { available: false, reason: `cannot read the migration state of ${redactDatabaseUrl(databaseUrl)}: ${(error as Error).message}` };
  }
  const open = database;
  // SQLite runs on this thread: yield to requests between batches.
  const between = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
  return {
    available: true,
    target: open.target,
    users: createDatabaseUserStore(open.db),
    recordPredictions: (rows) => recordPredictions(open.db, rows),
    prunePredictions: (retention) => prunePredictions(open.db, retention, { scan: 'oldest-first', between }),
    histograms: createSqlHistogramStore(open.db),
    pruneHistograms: (maxAgeMs) => pruneHistograms(open.db, maxAgeMs, { between }),
    close: () => open.close(),
  };
}
