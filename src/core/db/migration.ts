import type { Kysely } from 'kysely';
import { sha256 } from '../fs/hash.js';
import type { DialectName } from './db-url.js';

/** What a migration may ask about the database it runs on. */
export interface MigrationContext {
  readonly dialect: DialectName;
}

/** The shape of a migration module: 0001_create_users.ts exports `up` and `down`. */
export interface MigrationModule {
  up(db: Kysely<any>, context: MigrationContext): Promise<void>;
  down(db: Kysely<any>, context: MigrationContext): Promise<void>;
}

/** A migration as the migrator sees it: a module with its ordered name. */
export interface Migration extends MigrationModule {
  /** "0001_create_users": the sort key and the identity recorded in mlctl_migrations. */
  readonly name: string;
}

export function defineMigration(name: string, module: MigrationModule): Migration {
  return { name, up: module.up, down: module.down };
}

/**
 * SHA-256 of a migration's `up` and `down` source text, so an edit after it was applied
 * is detected. The text is normalised (comments, whitespace, quote style, semicolons,
 * trailing commas and Vite's import rewriting removed) because the same source compiled
 * by tsc (dist/) and by vitest's transformer prints differently; any change to what the code does still changes the checksum.
 */
export function migrationChecksum(migration: MigrationModule): string {
  return sha256(`${normalizeSource(migration.up.toString())}\n${normalizeSource(migration.down.toString())}`);
}

function normalizeSource(source: string): string {
  return source
    .replace(/\/\/[^\n]*$/gm, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/["'`]/g, "'")
    .replace(/,(\s*[)\]}])/g, '$1')
    .replace(/[\s;]+/g, '')
    // Vite (vitest) rewrites imported bindings: `(0, __vite_ssr_import_0__.f)` and `__vite_ssr_import_0__.sql`.
    .replace(/\(0,__vite_ssr_import_\d+__\.([\w$]+)\)/g, '$1')
    .replace(/__vite_ssr_import_\d+__\./g, '');
}
