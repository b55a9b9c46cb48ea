import { ExternalError, isMlctlError } from '../errors.js';
import type { Database, OpenDatabaseOptions } from './database.js';
import { parseDatabaseUrl, type DatabaseLocation, type DialectName } from './db-url.js';

type Opener = (location: DatabaseLocation, options: OpenDatabaseOptions) => Promise<Database>;

/** One opener per dialect; each is imported only when its URL is used. */
const OPENERS: Readonly<Record<DialectName, Opener>> = {
  sqlite: async (location, options) => {
    const { openSqliteDatabase } = await import('./dialects/sqlite-database.js');
    return openSqliteDatabase((location as Extract<DatabaseLocation, { dialect: 'sqlite' }>).path, options);
  },
  postgres: async (location, options) => {
    const { openPostgresDatabase } = await import('./dialects/postgres-database.js');
    return openPostgresDatabase((location as Extract<DatabaseLocation, { dialect: 'postgres' }>).url, options);
  },
};

/** Opens the database DATABASE_URL names (`cwd` resolves relative SQLite paths). */
export async function openDatabase(databaseUrl: string, cwd: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const location = parseDatabaseUrl(databaseUrl, cwd);
  return OPENERS[location.dialect](location, options);
}

/** Opens the database, runs `fn`, and closes it whatever happens. */
export async function withDatabase<T>(
  databaseUrl: string,
  cwd: string,
  fn: (database: Database) => Promise<T>,
  options: OpenDatabaseOptions = {},
): Promise<T> {
  const database = await openDatabase(databaseUrl, cwd, options);
  try {
    return await fn(database);
  } catch (error) {
    throw asDatabaseError(error, database);
  } finally {
    await database.close();
  }
}

/**
 * A driver's own error (better-sqlite3's SqliteError, node-postgres's DatabaseError) as
 * ExternalError 'DATABASE_QUERY_FAILED' (exit 5); anything else passes through unchanged.
 */
export function asDatabaseError(error: unknown, database: Pick<Database, 'target'>): unknown {
  if (isMlctlError(error) || !(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  const isDriverError = error.name === 'SqliteError' || (typeof code === 'string' && /^(SQLITE_|[0-9A-Z]{5}$)/.test(code));
  if (!isDriverError) return error;
  return new ExternalError('DATABASE_QUERY_FAILED', `database ${database.target}: ${error.message}`, {
    cause: error,
    hint: code === 'SQLITE_BUSY' ? 'another process holds the database; try again' : undefined,
  });
}
