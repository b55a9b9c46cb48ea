import { basename, extname, join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { ExternalError, NotFoundError, UsageError } from '../errors.js';
import type { BackupInfo, Database } from './database.js';
import { migrationChecksum, type Migration, type MigrationContext } from './migration.js';
import type { MlctlSchema } from './schema.js';

/**
 * A small migrator on Kysely. Unlike Kysely's own, it runs every migration inside a
 * transaction on SQLite too (SQLite has transactional DDL), records a checksum of each
 * migration's code, serializes concurrent processes with a database-wide lock, and
 * backs the database up before it changes the schema. It takes its migration list as a
 * parameter (normally migrations/index.ts's MIGRATIONS), so tests can inject their own.
 */

export type MigrationState = 'applied' | 'pending' | 'changed' | 'unknown';

export interface MigrationStatusEntry {
  readonly name: string;
  /** applied; pending; changed: applied, but its code was edited since; unknown: applied, but not in this build. */
  readonly state: MigrationState;
  readonly appliedAt: string | null;
  /** Checksum of the code in this build (null for unknown migrations). */
  readonly checksum: string | null;
  /** Checksum recorded when it was applied (null for pending migrations). */
  readonly recordedChecksum: string | null;
}

export interface MigrationStatus {
  readonly dialect: string;
  readonly target: string;
  /** The last applied migration in code order, or null at base. */
  readonly current: string | null;
  readonly migrations: readonly MigrationStatusEntry[];
  readonly counts: Readonly<Record<MigrationState, number>>;
}

export interface MigrationStep {
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly durationMs: number;
}

/**
 * Where a migrator keeps its bookkeeping. The user database's schema and the tracking
 * store's (`mlctl tracking migrate`) are migrated separately, each with its own pair.
 */
export interface MigrationTables {
  /** Applied migrations: name, checksum, time. */
  readonly migrations: string;
  /** Every up, down and accepted checksum. */
  readonly events: string;
}

/** The user database's bookkeeping (`mlctl db migrate`). */
export const USER_MIGRATION_TABLES: MigrationTables = { migrations: 'mlctl_migrations', events: 'mlctl_migration_events' };

export interface MigratorOptions {
  readonly migrations: readonly Migration[];
  /** The bookkeeping tables; default the user database's. */
  readonly tables?: MigrationTables;
  /** Where automatic backups go before a schema change; undefined: no backup. */
  readonly backupDir?: string;
  /** Clock, replaceable in tests. */
  readonly now?: () => Date;
  /** Called before each migration runs (progress display). */
  readonly onStart?: (name: string, direction: 'up' | 'down') => void;
  /** Called just before waiting for the migration lock (another process may hold it). */
  readonly onLockWait?: () => void;
  /** Called after the backup, before the first migration. */
  readonly onBackup?: (backup: BackupInfo) => void;
}

export interface MigrateOptions extends MigratorOptions {
  /** Apply up to and including this migration (a name or a unique prefix such as "0002"). */
  readonly to?: string;
  /** Proceed over edited or unknown migrations, recording the edited ones' new checksums. */
  readonly force?: boolean;
}

export interface RollbackOptions extends MigratorOptions {
  /** How many applied migrations to undo (default 1). */
  readonly steps?: number;
  /** Undo every migration after this one; "base" undoes them all. */
  readonly to?: string;
  readonly force?: boolean;
}

export interface MigrationRunResult {
  readonly direction: 'up' | 'down';
  readonly steps: readonly MigrationStep[];
  readonly backup: BackupInfo | null;
  /** Edited migrations whose new checksum --force recorded. */
  readonly checksumsAccepted: readonly string[];
  readonly current: string | null;
}

export interface MigrationEvent {
  readonly id: number;
  readonly name: string;
  readonly action: string;
  readonly checksum: string;
  readonly at: string;
  readonly durationMs: number;
}


/** Each migration's state, read without taking the lock. */
export async function getMigrationStatus(database: Database, migrations: readonly Migration[], tables: MigrationTables = USER_MIGRATION_TABLES): Promise<MigrationStatus> {
  const recorded = (await hasBookkeeping(database.db, tables)) ? await readRecorded(database.db, tables) : [];
  return buildStatus(database, migrations, recorded);
}

/** Applies pending migrations (up to `to`), each atomically, under the migration lock. */
export async function migrate(database: Database, options: MigrateOptions): Promise<MigrationRunResult> {
  const { migrations } = options;
  const targetIndex = options.to === undefined ? migrations.length - 1 : indexOfMigration(migrations, options.to);
  return runLocked(database, options, 'up', async (conn, status) => {
    const accepted = checkIntegrity(status, options.force === true, 'migrate');
    const appliedIndexes = migrations.flatMap((m, i) => (isApplied(status, m.name) ? [i] : []));
    const lastApplied = appliedIndexes.length === 0 ? -1 : Math.max(...appliedIndexes);
    if (options.to !== undefined && lastApplied > targetIndex) {
      throw new UsageError('MIGRATION_TARGET_BEHIND', `--to ${migrations[targetIndex]?.name}: later migrations are already applied (up to ${migrations[lastApplied]?.name})`, {
        hint: `to go back, run \`mlctl db rollback --to ${migrations[targetIndex]?.name}\``,
      });
    }
    if (accepted.length > 0) await acceptChecksums(conn, tablesOf(options), migrations, accepted, options.now);
    return { plan: migrations.filter((m, i) => i <= targetIndex && !isApplied(status, m.name)), accepted };
  });
}

/** Undoes the last `steps` applied migrations (or those after `to`), each atomically. */
export async function rollback(database: Database, options: RollbackOptions): Promise<MigrationRunResult> {
  const { migrations } = options;
  if (options.steps !== undefined && options.to !== undefined) {
    throw new UsageError('ROLLBACK_OPTIONS_CONFLICT', 'give either --steps or --to, not both');
  }
  if (options.steps !== undefined && (!Number.isInteger(options.steps) || options.steps < 1)) {
    throw new UsageError('ROLLBACK_STEPS_INVALID', `--steps must be a whole number of at least 1, got ${options.steps}`);
  }
  const targetIndex = options.to === undefined || options.to === 'base' ? -1 : indexOfMigration(migrations, options.to);
  return runLocked(database, options, 'down', async (conn, status) => {
    const accepted = checkIntegrity(status, options.force === true, 'rollback');
    if (accepted.length > 0) await acceptChecksums(conn, tablesOf(options), migrations, accepted, options.now);
    const applied = migrations.filter((m) => isApplied(status, m.name)).reverse();
    if (options.to !== undefined) {
      const target = migrations[targetIndex];
      if (target !== undefined && !isApplied(status, target.name)) {
        throw new UsageError('MIGRATION_TARGET_NOT_APPLIED', `--to ${target.name}: that migration is not applied`, {
          hint: `run \`mlctl db migrate --to ${target.name}\` to go forward`,
        });
      }
      return { plan: applied.filter((m) => migrations.indexOf(m) > targetIndex), accepted };
    }
    return { plan: applied.slice(0, options.steps ?? 1), accepted };
  });
}

/** Every up, down and accepted checksum, oldest first. */
export async function getMigrationHistory(database: Database, tables: MigrationTables = USER_MIGRATION_TABLES): Promise<MigrationEvent[]> {
  if (!(await hasBookkeeping(database.db, tables))) return [];
  const rows = await (database.db as Kysely<any>).selectFrom(tables.events).selectAll().orderBy('id').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, action: r.action, checksum: r.checksum, at: r.at, durationMs: r.duration_ms }));
}

/**
 * Throws UsageError 'DATABASE_NOT_MIGRATED' unless every migration of this build is
 * applied: commands that read or write users call it first, so a fresh or outdated
 * database gets a clear instruction rather than "no such table".
 */
export async function assertMigrated(database: Database, migrations: readonly Migration[], tables: MigrationTables = USER_MIGRATION_TABLES): Promise<void> {
  const status = await getMigrationStatus(database, migrations, tables);
  const pending = status.migrations.filter((m) => m.state === 'pending');
  if (pending.length > 0) {
    throw new UsageError('DATABASE_NOT_MIGRATED', `the database at ${database.target} is not migrated: ${pending.length} migration${pending.length === 1 ? '' : 's'} pending`, {
      problems: pending.map((m) => m.name),
      hint: 'run `mlctl db migrate`',
    });
  }
}

/** Resolves a migration by exact name or unique prefix ("0002"); NotFoundError otherwise. */
export function indexOfMigration(migrations: readonly Migration[], ref: string): number {
  const exact = migrations.findIndex((m) => m.name === ref);
  if (exact >= 0) return exact;
  const matches = migrations.flatMap((m, i) => (m.name.startsWith(ref) ? [i] : []));
  if (matches.length === 1) return matches[0] as number;
  if (matches.length > 1) {
    throw new UsageError('MIGRATION_AMBIGUOUS', `"${ref}" matches several migrations: ${matches.map((i) => migrations[i]?.name).join(', ')}`);
  }
  throw new NotFoundError('MIGRATION_NOT_FOUND', `no migration named "${ref}"`, {
    hint: 'run `mlctl db status` to list them',
  });
}

type Planner = (conn: Kysely<MlctlSchema>, status: MigrationStatus) => Promise<{ plan: Migration[]; accepted: string[] }>;

/**
 * Takes the migration lock, re-reads the state (another process may have migrated while
 * we waited), plans, backs up, then runs each migration in a savepoint: a failing one is
 * undone completely, those before it in the same run stay applied, and the error says so.
 */
async function runLocked(database: Database, options: MigratorOptions, direction: 'up' | 'down', planner: Planner): Promise<MigrationRunResult> {
  const now = options.now ?? (() => new Date());
  const context: MigrationContext = { dialect: database.dialect };
  const tables = tablesOf(options);
  return database.db.connection().execute(async (conn) => {
    options.onLockWait?.();
    await database.beginLocked(conn);
    const steps: MigrationStep[] = [];
    let failure: unknown;
    let backup: BackupInfo | null = null;
    let accepted: string[] = [];
    let plan: Migration[] = [];
    try {
      await ensureBookkeeping(conn, database, tables);
      const status = buildStatus(database, options.migrations, await readRecorded(conn, tables));
      ({ plan, accepted } = await planner(conn, status));
      if (plan.length > 0 && options.backupDir !== undefined && database.backupTo !== undefined && (await hasUserSchema(conn, database, status))) {
        backup = await database.backupTo(backupPathFor(database.target, options.backupDir, direction, now()));
        options.onBackup?.(backup);
      }
      for (const migration of plan) {
        options.onStart?.(migration.name, direction);
        const started = performance.now();
        await sql`savepoint mlctl_migration`.execute(conn);
        try {
          await (direction === 'up' ? migration.up(conn, context) : migration.down(conn, context));
          const durationMs = Math.round(performance.now() - started);
          const checksum = migrationChecksum(migration);
          if (direction === 'up') {
            await (conn as Kysely<any>).insertInto(tables.migrations).values({ name: migration.name, checksum, applied_at: now().toISOString(), duration_ms: durationMs }).execute();
          } else {
            await (conn as Kysely<any>).deleteFrom(tables.migrations).where('name', '=', migration.name).execute();
          }
          await (conn as Kysely<any>).insertInto(tables.events).values({ name: migration.name, action: direction, checksum, at: now().toISOString(), duration_ms: durationMs }).execute();
          await sql`release savepoint mlctl_migration`.execute(conn);
          steps.push({ name: migration.name, direction, durationMs });
        } catch (error) {
          try {
            await sql`rollback to savepoint mlctl_migration`.execute(conn);
            await sql`release savepoint mlctl_migration`.execute(conn);
          } catch {
            // Some failures (disk full, I/O) end the whole transaction: nothing of this run is kept.
            steps.length = 0;
            throw migrationFailed(migration.name, direction, error, steps);
          }
          failure = migrationFailed(migration.name, direction, error, steps);
          break;
        }
      }
      await sql`commit`.execute(conn);
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
    if (failure !== undefined) throw failure;
    const finalStatus = buildStatus(database, options.migrations, await readRecorded(conn, tables));
    return { direction, steps, backup, checksumsAccepted: accepted, current: finalStatus.current };
  });
}

function migrationFailed(name: string, direction: 'up' | 'down', error: unknown, done: readonly MigrationStep[]): ExternalError {
  return new ExternalError('MIGRATION_FAILED', `migration ${name} (${direction}) failed and was rolled back: ${(error as Error).message}`, {
    cause: error,
    hint:
      done.length > 0
        ? `${done.map((s) => s.name).join(', ')} ${direction === 'up' ? 'applied' : 'rolled back'} before it; the database is otherwise as it was`
        : 'the database is as it was before this command',
  });
}

function tablesOf(options: MigratorOptions): MigrationTables {
  return options.tables ?? USER_MIGRATION_TABLES;
}

async function hasBookkeeping(db: Kysely<MlctlSchema>, tables: MigrationTables): Promise<boolean> {
  const found = await db.introspection.getTables();
  return found.some((t) => t.name === tables.migrations);
}

async function ensureBookkeeping(conn: Kysely<MlctlSchema>, database: Database, tables: MigrationTables): Promise<void> {
  await conn.schema
    .createTable(tables.migrations)
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
  await conn.schema
    .createTable(tables.events)
    .ifNotExists()
    .addColumn('id', database.dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      database.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('checksum', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .execute();
}

async function readRecorded(db: Kysely<MlctlSchema>, tables: MigrationTables): Promise<{ name: string; checksum: string; applied_at: string }[]> {
  return (db as Kysely<any>).selectFrom(tables.migrations).select(['name', 'checksum', 'applied_at']).orderBy('name').execute();
}

function buildStatus(
  database: Database,
  migrations: readonly Migration[],
  recorded: readonly { name: string; checksum: string; applied_at: string }[],
): MigrationStatus {
  const byName = new Map(recorded.map((r) => [r.name, r]));
  const entries: MigrationStatusEntry[] = migrations.map((m) => {
    const checksum = migrationChecksum(m);
    const row = byName.get(m.name);
    if (row === undefined) return { name: m.name, state: 'pending', appliedAt: null, checksum, recordedChecksum: null };
    return { name: m.name, state: row.checksum === checksum ? 'applied' : 'changed', appliedAt: row.applied_at, checksum, recordedChecksum: row.checksum };
  });
  const known = new Set(migrations.map((m) => m.name));
  for (const row of recorded) {
    if (!known.has(row.name)) entries.push({ name: row.name, state: 'unknown', appliedAt: row.applied_at, checksum: null, recordedChecksum: row.checksum });
  }
  const counts = { applied: 0, pending: 0, changed: 0, unknown: 0 };
  for (const e of entries) counts[e.state] += 1;
  const current = [...migrations].reverse().find((m) => byName.has(m.name))?.name ?? null;
  return { dialect: database.dialect, target: database.target, current, migrations: entries, counts };
}

function isApplied(status: MigrationStatus, name: string): boolean {
  const entry = status.migrations.find((e) => e.name === name);
  return entry !== undefined && entry.state !== 'pending';
}

/**
 * Refuses to go on over edited or unknown migrations unless forced; returns the names of
 * edited ones whose new checksum should be recorded.
 */
function checkIntegrity(status: MigrationStatus, force: boolean, verb: string): string[] {
  const changed = status.migrations.filter((e) => e.state === 'changed');
  const unknown = status.migrations.filter((e) => e.state === 'unknown');
  if (!force) {
    const problems = [
      ...changed.map((e) => `${e.name} was edited after it was applied (checksum ${short(e.recordedChecksum)} recorded, ${short(e.checksum)} now)`),
      ...unknown.map((e) => `${e.name} is applied in the database but not part of this mlctl build`),
    ];
    if (changed.length > 0) {
      throw new UsageError('MIGRATION_CHECKSUM_MISMATCH', `cannot ${verb}: ${problems.length === 1 ? 'a migration does' : 'migrations do'} not match the database`, {
        problems,
        hint: 'restore the migration as it was applied and write a new migration instead; or pass --force to record the edited code as applied',
      });
    }
    if (unknown.length > 0) {
      throw new UsageError('MIGRATION_UNKNOWN', `cannot ${verb}: the database has migrations this build does not know`, {
        problems,
        hint: 'use the mlctl version that applied them, or pass --force to go on anyway',
      });
    }
  }
  return changed.map((e) => e.name);
}

async function acceptChecksums(conn: Kysely<MlctlSchema>, tables: MigrationTables, migrations: readonly Migration[], names: readonly string[], now?: () => Date): Promise<void> {
  const at = (now ?? (() => new Date()))().toISOString();
  for (const name of names) {
    const migration = migrations.find((m) => m.name === name);
    if (migration === undefined) continue;
    const checksum = migrationChecksum(migration);
    await (conn as Kysely<any>).updateTable(tables.migrations).set({ checksum }).where('name', '=', name).execute();
    await (conn as Kysely<any>).insertInto(tables.events).values({ name, action: 'checksum-accepted', checksum, at, duration_ms: 0 }).execute();
  }
}

/** A backup is worth taking once the database holds something besides our bookkeeping. */
async function hasUserSchema(conn: Kysely<MlctlSchema>, database: Database, status: MigrationStatus): Promise<boolean> {
  if (status.counts.applied + status.counts.changed + status.counts.unknown > 0) return true;
  const objects = await database.listSchema(conn);
  return objects.some((o) => !o.name.startsWith('mlctl_'));
}

/** <backupDir>/<db name>-<UTC timestamp>-before-<migrate|rollback>.db */
export function backupPathFor(databasePath: string, backupDir: string, reason: 'up' | 'down' | 'restore', at: Date): string {
  const stem = basename(databasePath, extname(databasePath));
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  const label = reason === 'up' ? 'migrate' : reason === 'down' ? 'rollback' : 'restore';
  return join(backupDir, `${stem}-${stamp}-before-${label}.db`);
}

function short(checksum: string | null): string {
  return checksum === null ? '-' : checksum.slice(0, 12);
}
