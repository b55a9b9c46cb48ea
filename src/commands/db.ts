import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { Database } from '../core/db/database.js';
import type { MigrationEvent, MigrationRunResult, MigrationStatus } from '../core/db/migrator.js';
import type { PopulateResult, PopulateSplit } from '../core/db/populate.js';
import type { User, UserPage } from '../core/db/users-repository.js';
import { flagName, USER_FIELD_RULES, USER_FIELDS } from '../core/db/user-validation.js';
import { COUNT_RANGE, POSITIVE_COUNT_RANGE, parseIntFlag, withExamples, type CliContext } from '../ui/context.js';
import { datasetStoreOptions } from './shared/data-location.js';
import { formatBytes, formatDuration, formatNumber, renderTable } from '../ui/table.js';

export interface DbMigrateOptions {
  readonly to: string | undefined;
  readonly force: boolean;
}

export interface DbRollbackOptions {
  readonly steps: number | undefined;
  readonly to: string | undefined;
  readonly force: boolean;
}

export interface DbPopulateOptions {
  readonly dataset: string;
  readonly split: PopulateSplit;
  readonly limit: number | undefined;
  readonly replace: boolean;
}

export interface DbUsersListOptions {
  readonly where: readonly string[];
  readonly limit: number;
  readonly offset: number;
}

/** Raw field values from --age, --workclass …, keyed by field name (hours_per_week). */
export type DbUserFieldOptions = Readonly<Record<string, string>>;

export function registerDbCommands(program: Command, context: CliContext): void {
  const db = program
    .command('db')
    .description('the user database: migrations, backups, population from Adult, user records')
    .addHelpText('after', '\nThe database is DATABASE_URL (default sqlite:./data/mlctl.db); postgres:// URLs need the "pg" package.');
  withExamples(db, 'mlctl db migrate', 'mlctl db populate --split train', 'mlctl db users list --where sex=Female --where age>=40');

  withExamples(
    db
      .command('migrate')
      .description('apply pending migrations, each in its own transaction, after an automatic backup')
      .option('--to <name>', 'stop after this migration (name or number prefix, e.g. 0001)')
      .option('--force', 'go on although an applied migration was edited (its new checksum is recorded)', false)
      .action(async (flags: { to?: string; force: boolean }, command: Command) => {
        await runMigrate(context, command, { to: flags.to, force: flags.force });
      }),
    'mlctl db migrate',
    'mlctl db migrate --to 0001',
    'DATABASE_URL=sqlite:/srv/mlctl.db mlctl db migrate --json',
  );

  withExamples(
    db
      .command('rollback')
      .description('undo applied migrations, newest first (default: the last one), after an automatic backup')
      .option('--steps <n>', 'how many migrations to undo', parseIntFlag('--steps', POSITIVE_COUNT_RANGE))
      .option('--to <name>', 'undo every migration after this one; "base" undoes them all')
      .option('--force', 'go on although an applied migration was edited', false)
      .action(async (flags: { steps?: number; to?: string; force: boolean }, command: Command) => {
        await runRollback(context, command, { steps: flags.steps, to: flags.to, force: flags.force });
      }),
    'mlctl db rollback',
    'mlctl db rollback --steps 2',
    'mlctl db rollback --to base',
  );

  withExamples(
    db
      .command('status')
      .description('each migration: applied (when), pending, edited since applied, or unknown to this build')
      .option('--check', 'exit 2 when a migration is pending, edited or unknown (for CI)', false)
      .action(async (flags: { check: boolean }, command: Command) => {
        await runStatus(context, command, flags.check);
      }),
    'mlctl db status',
    'mlctl db status --check --json',
  );

  withExamples(
    db
      .command('history')
      .description('every migration applied, rolled back or re-checksummed, oldest first')
      .action(async (_flags: unknown, command: Command) => {
        await runHistory(context, command);
      }),
    'mlctl db history',
    'mlctl db history --json',
  );

  withExamples(
    db
      .command('new')
      .description('scaffold a migration: src/core/db/migrations/NNNN_<name>.ts, listed in migrations/index.ts')
      .argument('<name>', 'what the migration does, e.g. add_user_email')
      .option('--root <dir>', 'the mlctl source checkout (default: found from the current folder upwards, else the checkout this mlctl runs from)')
      .addHelpText(
        'after',
        '\nMigrations are compiled into mlctl, so this writes into the mlctl source tree (the folder whose\n' +
          'package.json is named "mlctl"), not next to the database. Edit up/down, run `npm run build`,\n' +
          'then `mlctl db migrate`.',
      )
      .action(async (name: string, flags: { root?: string }, command: Command) => {
        await runNew(context, command, name, flags.root);
      }),
    'mlctl db new add_user_email',
    'mlctl db new "index users by age" --root ~/src/mlctl',
  );

  withExamples(
    db
      .command('backup')
      .description("copy the SQLite database to a file with SQLite's online backup (safe while in use)")
      .argument('<file>', 'where to write the copy')
      .action(async (file: string, _flags: unknown, command: Command) => {
        await runBackup(context, command, file);
      }),
    'mlctl db backup backups/before-upgrade.db',
  );

  withExamples(
    db
      .command('restore')
      .description('replace the SQLite database with a backup, after checking it and backing up the current one')
      .argument('<file>', 'a file written by `mlctl db backup` (or an automatic backup in <data dir>/backups)')
      .action(async (file: string, _flags: unknown, command: Command) => {
        await runRestore(context, command, file);
      }),
    'mlctl db restore backups/before-upgrade.db',
  );

  withExamples(
    db
      .command('populate')
      .description('insert the census rows of a dataset as users, in one transaction; re-running adds no duplicates')
      .option('--dataset <name>', 'dataset with census columns', 'income')
      .addOption(new Option('--split <split>', 'which file(s) to load').choices(['train', 'test', 'all']).default('all'))
      .option('--limit <n>', 'at most this many rows per split', parseIntFlag('--limit', POSITIVE_COUNT_RANGE))
      .option('--replace', "delete this dataset's populated rows for the split first (users added by hand stay)", false)
      .action(async (flags: { dataset: string; split: PopulateSplit; limit?: number; replace: boolean }, command: Command) => {
        await runPopulate(context, command, { dataset: flags.dataset, split: flags.split, limit: flags.limit, replace: flags.replace });
      }),
    'mlctl db populate',
    'mlctl db populate --split test --limit 1000',
    'mlctl db populate --replace --json',
  );

  withExamples(
    db
      .command('prune-predictions')
      .description('delete stored predictions older than a duration and/or beyond the newest N rows, in small batches (serve does it in the background: --prediction-retention)')
      .option('--older-than <duration>', 'delete predictions older than this: 30d, 12h, 90m, 2w')
      .option('--keep-last <rows>', 'keep only the newest this many predictions', parseIntFlag('--keep-last', POSITIVE_COUNT_RANGE))
      .action(async (flags: { olderThan?: string; keepLast?: number }, command: Command) => {
        await runPrunePredictions(context, command, flags);
      }),
    'mlctl db prune-predictions --older-than 30d',
    'mlctl db prune-predictions --keep-last 1000000 --json',
  );

  withExamples(
    db
      .command('prune-histograms')
      .description('delete stored drift histogram windows that started longer ago than a duration, whole windows in small batches (serve does it in the background: --histogram-retention)')
      .option('--older-than <duration>', 'delete windows that started longer ago than this: 90d, 2w, 12h')
      .action(async (flags: { olderThan?: string }, command: Command) => {
        await runPruneHistograms(context, command, flags);
      }),
    'mlctl db prune-histograms --older-than 90d',
    'mlctl db prune-histograms --older-than 2w --json',
  );

  registerUsersCommands(db, context);
}

/** `mlctl db prune-predictions`: the retention `serve --prediction-retention` enforces, once. */
async function runPrunePredictions(context: CliContext, command: Command, flags: { olderThan?: string; keepLast?: number }): Promise<void> {
  const output = context.output(command);
  const { prunePredictions, parseDuration } = await import('../core/db/predictions-repository.js');
  if (flags.olderThan === undefined && flags.keepLast === undefined) throw new UsageError('PRUNE_NOTHING_ASKED', 'give --older-than <duration>, --keep-last <rows>, or both');
  const maxAgeMs = flags.olderThan === undefined ? undefined : parseDuration(flags.olderThan);
  if (flags.olderThan !== undefined && maxAgeMs === undefined) {
    throw new UsageError('PRUNE_DURATION_INVALID', `--older-than ${JSON.stringify(flags.olderThan)} is not a duration; use a number and a unit: 30d, 12h, 90m, 45s, 2w`);
  }
  const result = await withMigratedDb(context, (database) =>
    prunePredictions(database.db, { ...(maxAgeMs === undefined ? {} : { maxAgeMs }), ...(flags.keepLast === undefined ? {} : { maxRows: flags.keepLast }) }),
  );
  const deleted = result.byAge + result.byCount;
  output.result({ deleted, ...result, ...(flags.olderThan === undefined ? {} : { olderThan: flags.olderThan }), ...(flags.keepLast === undefined ? {} : { keepLast: flags.keepLast }) }, () =>
    `deleted ${formatNumber(deleted)} prediction${deleted === 1 ? '' : 's'}${result.byAge > 0 && result.byCount > 0 ? ` (${formatNumber(result.byAge)} by age, ${formatNumber(result.byCount)} beyond the row limit)` : ''}`,
  );
}

/** `mlctl db prune-histograms`: the retention `serve --histogram-retention` enforces, once. */
async function runPruneHistograms(context: CliContext, command: Command, flags: { olderThan?: string }): Promise<void> {
  const output = context.output(command);
  const [{ parseDuration }, { pruneHistograms }] = await Promise.all([import('../core/text/durations.js'), import('../core/monitoring/sql-histogram-store.js')]);
  if (flags.olderThan === undefined) throw new UsageError('PRUNE_NOTHING_ASKED', 'give --older-than <duration>: windows that started longer ago are deleted');
  const maxAgeMs = parseDuration(flags.olderThan);
  if (maxAgeMs === undefined) {
    throw new UsageError('PRUNE_DURATION_INVALID', `--older-than ${JSON.stringify(flags.olderThan)} is not a duration; use a number and a unit: 90d, 2w, 12h, 90m, 45s`);
  }
  const deleted = await withMigratedDb(context, (database) => pruneHistograms(database.db, maxAgeMs));
  output.result({ deleted, olderThan: flags.olderThan }, () => `deleted ${formatNumber(deleted)} histogram row${deleted === 1 ? '' : 's'} (bin counts of windows older than ${flags.olderThan})`);
}

function registerUsersCommands(db: Command, context: CliContext): void {
  const users = db.command('users').description('list, show, add, update and delete user records');
  withExamples(users, 'mlctl db users list --limit 10', 'mlctl db users get 42 --json');

  withExamples(
    users
      .command('list')
      .description('users matching every --where, by id')
      .option('--where <condition>', 'field=value (also != > >= < <=; "null" matches missing); repeatable', collect, [])
      .option('--limit <n>', 'at most this many users', parseIntFlag('--limit', COUNT_RANGE), 20)
      .option('--offset <n>', 'skip this many users first', parseIntFlag('--offset', COUNT_RANGE), 0)
      .action(async (flags: { where: string[]; limit: number; offset: number }, command: Command) => {
        await runUsersList(context, command, { where: flags.where, limit: flags.limit, offset: flags.offset });
      }),
    'mlctl db users list',
    'mlctl db users list --where sex=Female --where age>=40 --limit 5',
    'mlctl db users list --where occupation=null --json',
  );

  withExamples(
    users
      .command('get')
      .description('one user by id (exit 3 when there is none)')
      .argument('<id>', 'user id')
      .action(async (id: string, _flags: unknown, command: Command) => {
        await runUsersGet(context, command, id);
      }),
    'mlctl db users get 42',
  );

  const add = users.command('add').description('add a user; every field is checked and all problems are reported, nothing is written on error');
  addUserFieldOptions(add);
  withExamples(
    add.action(async (_flags: Record<string, string>, command: Command) => {
      await runUsersAdd(context, command, userFieldsOf(command));
    }),
    'mlctl db users add --age 39 --workclass State-gov --fnlwgt 77516 --education Bachelors --marital-status Never-married ' +
      '--occupation Adm-clerical --relationship Not-in-family --race White --sex Male --capital-gain 2174 --capital-loss 0 ' +
      '--hours-per-week 40 --native-country United-States',
  );

  const update = users
    .command('update')
    .description('change some fields of a user; checked like add')
    .argument('<id>', 'user id');
  addUserFieldOptions(update);
  withExamples(
    update.action(async (id: string, _flags: Record<string, string>, command: Command) => {
      await runUsersUpdate(context, command, id, userFieldsOf(command));
    }),
    'mlctl db users update 42 --hours-per-week 45 --occupation Sales',
    'mlctl db users update 42 --workclass ""   # clear a field that may be missing',
  );

  withExamples(
    users
      .command('delete')
      .description('delete a user (exit 3 when there is none); its predictions stay, without the user')
      .argument('<id>', 'user id')
      .action(async (id: string, _flags: unknown, command: Command) => {
        await runUsersDelete(context, command, id);
      }),
    'mlctl db users delete 42',
  );
}

/** One --<field> option per user field, described from the validation rules. */
function addUserFieldOptions(command: Command): void {
  for (const field of USER_FIELDS) {
    const rule = USER_FIELD_RULES[field];
    const described =
      rule.kind === 'integer'
        ? `whole number ${rule.min}..${rule.max}`
        : rule.values.length <= 8
          ? rule.values.join(' | ')
          : `one of ${rule.values.length} Adult values, e.g. ${rule.values.slice(0, 3).join(', ')}`;
    const optional = rule.nullable ? ' (may be empty)' : field === 'education_num' ? ' (derived from --education when omitted)' : '';
    command.option(`--${flagName(field)} <value>`, `${field}: ${described}${optional}`);
  }
}

function userFieldsOf(command: Command): DbUserFieldOptions {
  const opts = command.opts<Record<string, string | undefined>>();
  const fields: Record<string, string> = {};
  for (const field of USER_FIELDS) {
    const value = opts[camelCase(field)];
    if (value !== undefined) fields[field] = value;
  }
  return fields;
}

function camelCase(field: string): string {
  return field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Opens DATABASE_URL (kysely and better-sqlite3 load here, not at start-up), runs `fn`,
 * closes. Only commands that build a database (migrate, rollback, restore) pass `create`.
 */
async function withDb<T>(context: CliContext, fn: (database: Database) => Promise<T>, create = false): Promise<T> {
  const { withDatabase } = await import('../core/db/create-database.js');
  return withDatabase(context.config.databaseUrl, context.config.cwd, fn, { mustExist: !create });
}

/** withDb, after checking every migration is applied. */
async function withMigratedDb<T>(context: CliContext, fn: (database: Database) => Promise<T>): Promise<T> {
  const [{ assertMigrated }, { MIGRATIONS }] = await Promise.all([import('../core/db/migrator.js'), import('../core/db/migrations/index.js')]);
  return withDb(context, async (database) => {
    await assertMigrated(database, MIGRATIONS);
    return fn(database);
  });
}

function backupDir(context: CliContext): string {
  return join(context.config.dataDir, 'backups');
}

async function runMigrate(context: CliContext, command: Command, options: DbMigrateOptions): Promise<void> {
  const output = context.output(command);
  const [{ migrate }, { MIGRATIONS }] = await Promise.all([import('../core/db/migrator.js'), import('../core/db/migrations/index.js')]);
  const progress = await output.progress('waiting for the migration lock');
  try {
    const result = await withDb(context, (database) =>
      migrate(database, {
        migrations: MIGRATIONS,
        to: options.to,
        force: options.force,
        backupDir: backupDir(context),
        onBackup: (backup) => output.info(`backed up the database to ${backup.path} (${formatBytes(backup.bytes)})`),
        onLockWait: () => output.debug('waiting for the migration lock'),
        onStart: (name) => progress.update(`applying ${name}`),
      }),
      true,
    );
    progress.stop();
    for (const name of result.checksumsAccepted) output.warn(`recorded the edited code of ${name} as applied (--force)`);
    output.result(result, () => describeRun(result));
  } catch (error) {
    progress.stop();
    throw error;
  }
}

async function runRollback(context: CliContext, command: Command, options: DbRollbackOptions): Promise<void> {
  const output = context.output(command);
  const [{ rollback }, { MIGRATIONS }] = await Promise.all([import('../core/db/migrator.js'), import('../core/db/migrations/index.js')]);
  const result = await withDb(context, (database) =>
    rollback(database, {
      migrations: MIGRATIONS,
      steps: options.steps,
      to: options.to,
      force: options.force,
      backupDir: backupDir(context),
      onLockWait: () => output.debug('waiting for the migration lock'),
      onBackup: (backup) => output.info(`backed up the database to ${backup.path} (${formatBytes(backup.bytes)})`),
    }),
    true,
  );
  output.result(result, () => describeRun(result));
}

function describeRun(result: MigrationRunResult): string {
  const verb = result.direction === 'up' ? 'applied' : 'rolled back';
  if (result.steps.length === 0) {
    return result.direction === 'up' ? `nothing to migrate: the database is at ${result.current ?? 'base'}` : 'nothing to roll back';
  }
  const lines = result.steps.map((s) => `${verb} ${s.name} (${formatDuration(s.durationMs)})`);
  lines.push(`the database is now at ${result.current ?? 'base'}`);
  return lines.join('\n');
}

async function runStatus(context: CliContext, command: Command, check: boolean): Promise<void> {
  const output = context.output(command);
  const [{ getMigrationStatus }, { MIGRATIONS }] = await Promise.all([import('../core/db/migrator.js'), import('../core/db/migrations/index.js')]);
  const status = await withDb(context, (database) => getMigrationStatus(database, MIGRATIONS));
  for (const entry of status.migrations) {
    if (entry.state === 'changed') output.warn(`${entry.name} was edited after it was applied; \`db migrate\` will refuse without --force`);
    if (entry.state === 'unknown') output.warn(`${entry.name} is applied but not part of this mlctl build`);
  }
  const rows = await renderTable({
    head: ['migration', 'state', 'applied at'],
    rows: status.migrations.map((m) => [m.name, m.state, m.appliedAt ?? '']),
    color: output.color,
  });
  output.result(status, () => `${status.dialect} ${status.target}\n${rows}\n${describeCounts(status)}`);
  if (check && status.counts.pending + status.counts.changed + status.counts.unknown > 0) {
    throw new UsageError('DATABASE_NOT_CURRENT', `the database is not current: ${describeCounts(status)}`, { hint: 'run `mlctl db migrate`' });
  }
}

function describeCounts(status: MigrationStatus): string {
  const { applied, pending, changed, unknown } = status.counts;
  const parts = [`${applied} applied`, `${pending} pending`];
  if (changed > 0) parts.push(`${changed} edited since applied`);
  if (unknown > 0) parts.push(`${unknown} unknown`);
  return parts.join(', ');
}

async function runHistory(context: CliContext, command: Command): Promise<void> {
  const output = context.output(command);
  const { getMigrationHistory } = await import('../core/db/migrator.js');
  const events: MigrationEvent[] = await withDb(context, (database) => getMigrationHistory(database));
  const table = await renderTable({
    head: ['at', 'action', 'migration', 'took', 'checksum'],
    rows: events.map((e) => [e.at, e.action, e.name, formatDuration(e.durationMs), e.checksum.slice(0, 12)]),
    color: output.color,
  });
  output.result({ events }, () => (events.length === 0 ? 'no migration has run on this database' : table));
}

async function runNew(context: CliContext, command: Command, name: string, root: string | undefined): Promise<void> {
  const output = context.output(command);
  const { findProjectRoot, scaffoldMigration } = await import('../core/db/migration-scaffold.js');
  // Without --root: the checkout around the current folder, else the one this mlctl runs from.
  const projectRoot =
    root === undefined
      ? (findProjectRoot(context.config.cwd) ?? findProjectRoot(fileURLToPath(new URL('.', import.meta.url))))
      : findProjectRoot(resolve(context.config.cwd, root));
  if (projectRoot === undefined) {
    throw new UsageError('PROJECT_ROOT_NOT_FOUND', `no mlctl source checkout at or above ${root ?? context.config.cwd}`, {
      hint: 'migrations are compiled into mlctl: run this inside its source tree, or pass --root <checkout>',
    });
  }
  const result = await scaffoldMigration(projectRoot, name);
  output.result(result, () => `created ${result.file}\nlisted it in ${result.index}\nnext: write up/down, \`npm run build\`, then \`mlctl db migrate\``);
}

async function runBackup(context: CliContext, command: Command, file: string): Promise<void> {
  const output = context.output(command);
  const { backupDatabase } = await import('../core/db/backup.js');
  const backup = await withDb(context, (database) => backupDatabase(database, resolve(context.config.cwd, file)));
  output.result(backup, () => `backed up the database to ${backup.path} (${formatBytes(backup.bytes)})`);
}

async function runRestore(context: CliContext, command: Command, file: string): Promise<void> {
  const output = context.output(command);
  const [{ restoreDatabase }, { MIGRATIONS }] = await Promise.all([import('../core/db/backup.js'), import('../core/db/migrations/index.js')]);
  const result = await withDb(
    context,
    (database) => restoreDatabase(database, file, { migrations: MIGRATIONS, backupDir: backupDir(context), cwd: context.config.cwd }),
    true,
  );
  output.result(result, () =>
    [
      result.backup === null ? '' : `saved the previous database to ${result.backup.path}`,
      `restored ${result.restoredFrom} (${formatBytes(result.bytes)}): the database is at ${result.status.current ?? 'base'}, ${describeCounts(result.status)}`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  );
}

async function runPopulate(context: CliContext, command: Command, options: DbPopulateOptions): Promise<void> {
  const output = context.output(command);
  const [{ populateUsers }, { getDatasetSpec }] = await Promise.all([import('../core/db/populate.js'), import('../core/datasets/dataset-registry.js')]);
  const spec = getDatasetSpec(options.dataset);
  const progress = await output.progress(`reading ${spec.name}`);
  let result: PopulateResult;
  try {
    result = await withMigratedDb(context, (database) =>
      populateUsers(database, {
        spec,
        split: options.split,
        limit: options.limit,
        replace: options.replace,
        ...datasetStoreOptions(context),
        onProgress: (event) =>
          progress.update(
            event.phase === 'reading'
              ? `read ${formatNumber(event.total)} ${event.split} rows`
              : `inserting ${event.split} rows: ${formatNumber(event.done)} / ${formatNumber(event.total)}`,
          ),
      }),
    );
  } catch (error) {
    progress.fail('populate failed; nothing was written');
    throw error;
  }
  progress.succeed(`populated users from ${result.dataset}`);
  output.result(result, () => {
    const lines = result.splits.map(
      (s) => `${s.split} (${s.file}): ${formatNumber(s.rows)} rows, ${formatNumber(s.inserted)} inserted, ${formatNumber(s.skipped)} already present`,
    );
    if (result.deleted > 0) lines.unshift(`replaced: deleted ${formatNumber(result.deleted)} previously populated users`);
    lines.push(`${formatNumber(result.inserted)} users inserted in ${formatDuration(result.durationMs)}`);
    return lines.join('\n');
  });
}

async function runUsersList(context: CliContext, command: Command, options: DbUsersListOptions): Promise<void> {
  const output = context.output(command);
  const { listUsers, parseUserFilters } = await import('../core/db/users-repository.js');
  const where = parseUserFilters(options.where);
  const page: UserPage = await withMigratedDb(context, (database) => listUsers(database.db, { where, limit: options.limit, offset: options.offset }));
  const head = ['id', 'age', 'workclass', 'education', 'marital_status', 'occupation', 'sex', 'hours_per_week', 'native_country', 'income'] as const;
  const table = await renderTable({
    head: [...head],
    rows: page.users.map((user) => head.map((column) => user[column])),
    alignRight: [0, 1, 7],
    color: output.color,
  });
  output.result(page, () => {
    if (page.users.length === 0) return page.total === 0 ? 'no users match' : `no users past offset ${page.offset} (${page.total} match)`;
    return `${table}\nshowing ${page.offset + 1}-${page.offset + page.users.length} of ${formatNumber(page.total)}`;
  });
}

async function runUsersGet(context: CliContext, command: Command, idText: string): Promise<void> {
  const output = context.output(command);
  const { getUser, parseUserId } = await import('../core/db/users-repository.js');
  const id = parseUserId(idText);
  const user = await withMigratedDb(context, (database) => getUser(database.db, id));
  output.result(user, () => describeUser(user));
}

async function runUsersAdd(context: CliContext, command: Command, fields: DbUserFieldOptions): Promise<void> {
  const output = context.output(command);
  const { addUser } = await import('../core/db/users-repository.js');
  const { parseNewUser } = await import('../core/db/user-validation.js');
  // Validate before opening the database, so bad input is reported even without one.
  parseNewUser(fields);
  const user = await withMigratedDb(context, (database) => addUser(database.db, fields));
  output.result(user, () => `added user ${user.id}\n${describeUser(user)}`);
}

async function runUsersUpdate(context: CliContext, command: Command, idText: string, fields: DbUserFieldOptions): Promise<void> {
  const output = context.output(command);
  const { updateUser, parseUserId } = await import('../core/db/users-repository.js');
  const { parseUserPatch } = await import('../core/db/user-validation.js');
  const id = parseUserId(idText);
  parseUserPatch(fields);
  const user = await withMigratedDb(context, (database) => updateUser(database.db, id, fields));
  output.result(user, () => `updated user ${user.id}\n${describeUser(user)}`);
}

async function runUsersDelete(context: CliContext, command: Command, idText: string): Promise<void> {
  const output = context.output(command);
  const { deleteUser, parseUserId } = await import('../core/db/users-repository.js');
  const id = parseUserId(idText);
  const user = await withMigratedDb(context, (database) => deleteUser(database.db, id));
  output.result({ deleted: user }, () => `deleted user ${user.id}`);
}

function describeUser(user: User): string {
  const width = Math.max(...Object.keys(user).map((k) => k.length));
  return Object.entries(user)
    .map(([key, value]) => `${key.padEnd(width)}  ${value === null ? '' : String(value)}`)
    .join('\n');
}
