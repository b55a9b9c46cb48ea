import { existsSync, readFileSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';

/** Where migrations live inside the mlctl source tree. */
export const MIGRATIONS_SOURCE_DIR = join('src', 'core', 'db', 'migrations');

const IMPORTS_MARKER = '// mlctl:migration-imports';
const LIST_MARKER = '// mlctl:migration-list';

export interface ScaffoldResult {
  readonly name: string;
  readonly file: string;
  readonly index: string;
}

/**
 * The mlctl source checkout containing `start` (or above it): the nearest folder with a
 * package.json named "mlctl" and src/core/db/migrations/index.ts. Migrations are compiled
 * into the package, so `db new` writes source files, not files next to the database.
 */
export function findProjectRoot(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    if (isMlctlSource(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function isMlctlSource(dir: string): boolean {
  if (!existsSync(join(dir, MIGRATIONS_SOURCE_DIR, 'index.ts'))) return false;
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'mlctl';
  } catch {
    return false;
  }
}

/** "Add user email" → "add_user_email"; UsageError 'MIGRATION_NAME_INVALID' when nothing usable is left. */
export function normalizeMigrationName(text: string): string {
  const name = text
    .trim()
    .toLowerCase()
    .replace(/^\d{4}_/, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '' || !/^[a-z]/.test(name)) {
    throw new UsageError('MIGRATION_NAME_INVALID', `migration name "${text}" must start with a letter, e.g. add_user_email`);
  }
  return name;
}

/**
 * Writes src/core/db/migrations/NNNN_<name>.ts with empty `up` and `down`, numbered after
 * the highest existing one, and lists it in migrations/index.ts. Nothing is left half
 * done: the new file is removed if the index cannot be updated.
 */
export async function scaffoldMigration(root: string, text: string): Promise<ScaffoldResult> {
  const dir = join(root, MIGRATIONS_SOURCE_DIR);
  const indexPath = join(dir, 'index.ts');
  const slug = normalizeMigrationName(text);
  const numbers = (await readdir(dir)).flatMap((f) => {
    const match = /^(\d{4})_.*\.ts$/.exec(f);
    return match === null ? [] : [Number(match[1])];
  });
  const number = String(Math.max(0, ...numbers) + 1).padStart(4, '0');
  const name = `${number}_${slug}`;
  const index = readFileSync(indexPath, 'utf8');
  if (!index.includes(IMPORTS_MARKER) || !index.includes(LIST_MARKER)) {
    throw new UsageError('MIGRATION_INDEX_MARKERS_MISSING', `${indexPath} lacks the "${IMPORTS_MARKER}" and "${LIST_MARKER}" lines db new inserts before`, {
      hint: 'restore those two comment lines, or add the migration to the list by hand',
    });
  }
  const binding = `m${number}`;
  const updated = index
    .replace(IMPORTS_MARKER, `import * as ${binding} from './${name}.js';\n${IMPORTS_MARKER}`)
    .replace(new RegExp(`^(\\s*)${LIST_MARKER}`, 'm'), `$1defineMigration('${name}', ${binding}),\n$1${LIST_MARKER}`);
  const file = join(dir, `${name}.ts`);
  await writeFile(file, migrationTemplate(slug), { flag: 'wx' });
  try {
    await writeFileAtomic(indexPath, updated);
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  return { name, file, index: indexPath };
}

function migrationTemplate(slug: string): string {
  const title = slug.replaceAll('_', ' ');
  return `import type { Kysely } from 'kysely';
import type { MigrationContext } from '../migration.js';

/**
 * ${title[0]?.toUpperCase()}${title.slice(1)}.
 * Runs in a transaction; once applied it is frozen (its checksum is recorded): change the
 * schema again in a new migration. \`context.dialect\` is 'sqlite' or 'postgres'.
 */
export async function up(db: Kysely<any>, context: MigrationContext): Promise<void> {
  void context;
  // await db.schema.alterTable('users').addColumn('email', 'text').execute();
  void db;
}

export async function down(db: Kysely<any>, context: MigrationContext): Promise<void> {
  void context;
  // Undo exactly what up did, e.g.:
  // await db.schema.alterTable('users').dropColumn('email').execute();
  void db;
}
`;
}
