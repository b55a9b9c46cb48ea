import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { NotFoundError, UsageError } from '../errors.js';
import { openDatabase } from './create-database.js';
import type { BackupInfo, Database } from './database.js';
import { backupPathFor, getMigrationStatus, type MigrationStatus } from './migrator.js';
import type { Migration } from './migration.js';

const SQLITE_HEADER = 'SQLite format 3\u0000';

/** Copies the database to `file` (SQLite online backup, written to a temporary sibling then renamed). */
export async function backupDatabase(database: Database, file: string): Promise<BackupInfo> {
  if (database.backupTo === undefined) throw unsupported(database, 'backup', 'pg_dump');
  return database.backupTo(file);
}

export interface RestoreOptions {
  readonly migrations: readonly Migration[];
  /** The current database is backed up here first; undefined: no safety copy. */
  readonly backupDir?: string;
  readonly now?: () => Date;
  /** Resolves a relative `file`. */
  readonly cwd: string;
}

export interface RestoreResult {
  readonly restoredFrom: string;
  readonly bytes: number;
  /** The safety copy of the database as it was before the restore. */
  readonly backup: BackupInfo | null;
  readonly status: MigrationStatus;
}

/**
 * Replaces the database with a backup. The file must be a sound SQLite database holding
 * mlctl's migrations table (UsageError 'RESTORE_NOT_SQLITE' / 'RESTORE_CORRUPT' /
 * 'RESTORE_NOT_MLCTL' otherwise), checked before anything is touched; the current
 * database is copied to `backupDir` first; the restore itself is one transaction.
 */
export async function restoreDatabase(database: Database, file: string, options: RestoreOptions): Promise<RestoreResult> {
  if (database.restoreFrom === undefined || database.backupTo === undefined) throw unsupported(database, 'restore', 'pg_restore');
  const source = resolve(options.cwd, file);
  const bytes = await checkSqliteHeader(source);
  const candidate = await openDatabase(`sqlite:${source}`, options.cwd, { readonly: true });
  try {
    const check = await sql<{ quick_check: string }>`pragma quick_check`.execute(candidate.db);
    const verdicts = check.rows.map((r) => r.quick_check);
    if (verdicts.length !== 1 || verdicts[0] !== 'ok') {
      throw new UsageError('RESTORE_CORRUPT', `${file} failed SQLite's integrity check; nothing was restored`, { problems: verdicts.slice(0, 10) });
    }
    const tables = (await candidate.listSchema()).filter((o) => o.type === 'table').map((o) => o.name);
    if (!tables.includes('mlctl_migrations')) {
      throw new UsageError('RESTORE_NOT_MLCTL', `${file} is a SQLite database but not an mlctl one (it has no mlctl_migrations table); nothing was restored`, {
        hint: 'restore a file written by `mlctl db backup <file>` or an automatic backup in <data dir>/backups',
      });
    }
  } finally {
    await candidate.close();
  }
  const backup =
    options.backupDir === undefined ? null : await database.backupTo(backupPathFor(database.target, options.backupDir, 'restore', (options.now ?? (() => new Date()))()));
  await database.restoreFrom(source);
  return { restoredFrom: source, bytes, backup, status: await getMigrationStatus(database, options.migrations) };
}

async function checkSqliteHeader(path: string): Promise<number> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new NotFoundError('BACKUP_NOT_FOUND', `no file ${path}`, { hint: 'give the path of a file written by `mlctl db backup <file>`' });
  }
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(SQLITE_HEADER.length);
    await handle.read(buffer, 0, buffer.length, 0);
    if (buffer.toString('latin1') !== SQLITE_HEADER) {
      throw new UsageError('RESTORE_NOT_SQLITE', `${path} is not a SQLite database; nothing was restored`);
    }
  } finally {
    await handle.close();
  }
  return size;
}

function unsupported(database: Database, what: string, tool: string): UsageError {
  return new UsageError('DATABASE_BACKUP_UNSUPPORTED', `db ${what} works on SQLite files; ${database.target} is ${database.dialect}`, {
    hint: `use ${tool} for PostgreSQL`,
  });
}
