import type { Kysely } from 'kysely';
import type { DialectName } from './db-url.js';
import type { MlctlSchema } from './schema.js';

/**
 * An open database: the Kysely instance every query goes through, plus the few things
 * that differ between dialects. Each dialect (dialects/sqlite-database.ts,
 * dialects/postgres-database.ts) implements this; nothing else branches on the dialect.
 */
export interface Database {
  readonly dialect: DialectName;
  /** The file path or the URL with its password masked, for messages. */
  readonly target: string;
  readonly db: Kysely<MlctlSchema>;
  /**
   * Opens a transaction on `connection` that holds the database-wide schema lock, so two
   * processes migrating at once serialize (SQLite: BEGIN IMMEDIATE under busy_timeout;
   * PostgreSQL: a transaction-scoped advisory lock).
   */
  beginLocked(connection: Kysely<MlctlSchema>): Promise<void>;
  /**
   * Copies the committed state of the database to `path` (SQLite's online backup API);
   * undefined where the dialect has no file to copy (PostgreSQL: use pg_dump).
   */
  readonly backupTo: ((path: string) => Promise<BackupInfo>) | undefined;
  /**
   * Replaces the whole database with the SQLite file at `path` through the online backup
   * API: the destination is written in one transaction, so other connections see the old
   * database or the new one. undefined where the dialect has no file (PostgreSQL).
   */
  readonly restoreFrom: ((path: string) => Promise<void>) | undefined;
  /**
   * Inserts many rows into `table` through `transaction` (an open Kysely transaction) and
   * returns how many were inserted; with `skipConflictsOn`, rows whose value in that
   * unique column already exists are skipped. SQLite reuses one prepared statement for
   * every row; PostgreSQL sends multi-row INSERTs.
   */
  insertRows(transaction: Kysely<MlctlSchema>, table: keyof MlctlSchema, rows: readonly RowValues[], options?: InsertRowsOptions): Promise<number>;
  /**
   * Schema objects (tables, indexes, triggers) and their DDL, sorted, for comparison.
   * Pass the connection when called inside `db.connection()` (SQLite has one connection).
   */
  listSchema(executor?: Kysely<MlctlSchema>): Promise<SchemaObject[]>;
  close(): Promise<void>;
}

export type RowValues = Readonly<Record<string, string | number | null>>;

export interface InsertRowsOptions {
  readonly skipConflictsOn?: string;
}

export interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly sql: string | null;
}

export interface BackupInfo {
  readonly path: string;
  readonly bytes: number;
}

export interface OpenDatabaseOptions {
  /** How long a statement waits for another process's lock before failing (ms). */
  readonly busyTimeoutMs?: number;
  /** Open an existing database read-only; fails if the file does not exist. */
  readonly readonly?: boolean;
  /**
   * Refuse to create a SQLite file that does not exist (NotFoundError 'DATABASE_NOT_FOUND'):
   * commands that only read or change rows must not leave a stray empty database behind a
   * mistyped DATABASE_URL. Only migrate, rollback and restore create one.
   */
  readonly mustExist?: boolean;
  /** PostgreSQL: connections in the pool at most (default 4). */
  readonly poolSize?: number;
}
