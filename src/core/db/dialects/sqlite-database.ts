import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { ExternalError, NotFoundError } from '../../errors.js';
import { temporaryPathFor } from '../../fs/atomic.js';
import type { BackupInfo, Database, InsertRowsOptions, OpenDatabaseOptions, RowValues, SchemaObject } from '../database.js';
import type { MlctlSchema } from '../schema.js';

/** The part of better-sqlite3's Database that mlctl uses beyond what Kysely needs. */
export interface BetterSqliteHandle extends SqliteDatabase {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
  backup(destination: string): Promise<unknown>;
}

type BetterSqliteConstructor = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => BetterSqliteHandle;

/** better-sqlite3 is CommonJS (and native): required on first use, never at start-up. */
async function loadBetterSqlite(): Promise<BetterSqliteConstructor> {
  return createRequire(import.meta.url)('better-sqlite3') as BetterSqliteConstructor;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

/**
 * Opens a SQLite file through better-sqlite3: WAL journal (readers never block the
 * writer), foreign keys enforced, and a busy timeout so a second writer waits instead
 * of failing.
 */
export async function openSqliteDatabase(path: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const BetterSqlite = await loadBetterSqlite();
  const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const memory = path === ':memory:';
  if (!memory && options.mustExist === true && !existsSync(path)) {
    throw new NotFoundError('DATABASE_NOT_FOUND', `no database at ${path}`, { hint: 'create it with `mlctl db migrate`, or check DATABASE_URL' });
  }
  let handle: BetterSqliteHandle;
  try {
    if (!memory && options.readonly !== true) mkdirSync(dirname(path), { recursive: true });
    handle = new BetterSqlite(path, { timeout, readonly: options.readonly === true, fileMustExist: options.readonly === true });
    if (options.readonly !== true) handle.pragma('journal_mode = WAL');
    handle.pragma('foreign_keys = ON');
    // WAL with synchronous=NORMAL is durable across application crashes, and fast.
    handle.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new ExternalError('DATABASE_OPEN_FAILED', `cannot open SQLite database ${path}: ${(error as Error).message}`, {
      hint: 'check DATABASE_URL and that the folder is writable',
      cause: error,
    });
  }
  const db = new Kysely<MlctlSchema>({ dialect: new SqliteDialect({ database: handle }) });

  return {
    dialect: 'sqlite',
    target: path,
    db,
    async beginLocked(connection) {
      // IMMEDIATE takes the write lock now, not at the first write, so a second
      // migrating process waits here (busy_timeout) before it reads any state.
      await sql`begin immediate`.execute(connection);
    },
    async insertRows(_transaction, table, rows, options = {}) {
      // The transaction runs on this same (single) connection, so statements on the
      // handle belong to it; better-sqlite3 is synchronous, so nothing interleaves.
      return insertRowsPrepared(handle, table, rows, options);
    },
    backupTo: memory ? undefined : (destination) => backupSqliteFile(BetterSqlite, path, destination),
    restoreFrom: memory
      ? undefined
      : async (source) => {
          const reader = new BetterSqlite(source, { readonly: true, fileMustExist: true });
          try {
            await reader.backup(path);
          } catch (error) {
            throw new ExternalError('DATABASE_RESTORE_FAILED', `cannot restore ${path} from ${source}: ${(error as Error).message}`, { cause: error });
          } finally {
            reader.close();
          }
        },
    async listSchema(executor = db) {
      const result = await sql<SchemaObject>`
        select type, name, sql from sqlite_master
        where name not like 'sqlite_%'
        order by type, name`.execute(executor);
      return result.rows;
    },
    async close() {
      await db.destroy();
    },
  };
}

function insertRowsPrepared(handle: BetterSqliteHandle, table: string, rows: readonly RowValues[], options: InsertRowsOptions): number {
  const first = rows[0];
  if (first === undefined) return 0;
  const columns = Object.keys(first);
  const quoted = columns.map(quoteIdentifier).join(', ');
  const conflict = options.skipConflictsOn === undefined ? '' : ` on conflict (${quoteIdentifier(options.skipConflictsOn)}) do nothing`;
  const statement = handle.prepare(`insert into ${quoteIdentifier(table)} (${quoted}) values (${columns.map(() => '?').join(', ')})${conflict}`);
  let inserted = 0;
  for (const row of rows) inserted += Number(statement.run(columns.map((column) => row[column] ?? null)).changes);
  return inserted;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Copies the committed state of the SQLite file at `source` to `destination` with the
 * online backup API, through a separate read-only connection (a connection inside a
 * write transaction would copy nothing), into a temporary sibling renamed into place.
 */
async function backupSqliteFile(BetterSqlite: BetterSqliteConstructor, source: string, destination: string): Promise<BackupInfo> {
  mkdirSync(dirname(destination), { recursive: true });
  const tmp = temporaryPathFor(destination);
  const reader = new BetterSqlite(source, { readonly: true, fileMustExist: true });
  try {
    await reader.backup(tmp);
    await rename(tmp, destination);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new ExternalError('DATABASE_BACKUP_FAILED', `cannot back up ${source} to ${destination}: ${(error as Error).message}`, { cause: error });
  } finally {
    reader.close();
  }
  return { path: destination, bytes: statSync(destination).size };
}
