import type { Command } from 'commander';
import { withExamples, type CliContext } from '../ui/context.js';
import { formatDuration } from '../ui/table.js';
import { trackingSettings } from './shared/tracking.js';

export interface TrackingImportOptions {
  /** The file store to copy: a runs folder. */
  readonly source: string;
}

/** The tracking URI as it may be shown: a database URL with its password masked. */
function shown(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export function registerTrackingCommands(program: Command, context: CliContext): void {
  const tracking = program
    .command('tracking')
    .description(
      'The tracking store itself: MLCTL_TRACKING_URI (./runs, the file store, by default; or postgresql://… shared by a team) with artifacts at MLCTL_ARTIFACT_URI (a folder or s3://bucket/prefix).',
    );
  withExamples(
    tracking,
    'MLCTL_TRACKING_URI=postgresql://mlctl@db/mlctl mlctl tracking migrate',
    'MLCTL_TRACKING_URI=postgresql://mlctl@db/mlctl MLCTL_ARTIFACT_URI=s3://team-bucket/mlctl mlctl tracking import ./runs',
    'mlctl tracking status --json',
  );

  const migrate = tracking
    .command('migrate')
    .description('Create or upgrade the tracking tables in the MLCTL_TRACKING_URI database (separate from the user database of `mlctl db`). Safe to run again, and from several machines at once.')
    .action(async (_opts: unknown, command: Command) => {
      const output = context.output(command);
      const settings = trackingSettings(context);
      const { isDatabaseUri, openTrackingDatabase } = await import('../core/tracking/open-tracking-store.js');
      if (!isDatabaseUri(settings.trackingUri)) {
        output.result({ backend: 'files', location: settings.trackingUri, steps: [] }, () => `the file store at ${settings.trackingUri} needs no migration; set MLCTL_TRACKING_URI=postgresql://… to use a database`);
        return;
      }
      const [{ migrate: runMigrations }, { TRACKING_MIGRATIONS, TRACKING_MIGRATION_TABLES }, { join }] = await Promise.all([
        import('../core/db/migrator.js'),
        import('../core/tracking/sql/migrations/index.js'),
        import('node:path'),
      ]);
      const database = await openTrackingDatabase(settings);
      const progress = await output.progress('waiting for the migration lock');
      try {
        const result = await runMigrations(database, {
          migrations: TRACKING_MIGRATIONS,
          tables: TRACKING_MIGRATION_TABLES,
          backupDir: join(context.config.dataDir, 'backups'),
          onBackup: (backup) => output.info(`backed up the tracking database to ${backup.path}`),
          onStart: (name) => progress.update(`applying ${name}`),
        });
        progress.stop();
        output.result({ backend: database.dialect, location: database.target, ...result }, () =>
          [...result.steps.map((s) => `applied ${s.name} (${formatDuration(s.durationMs)})`), result.steps.length === 0 ? `nothing to migrate: the tracking store at ${database.target} is at ${result.current}` : `the tracking store at ${database.target} is now at ${result.current}`].join('\n'),
        );
      } finally {
        progress.stop();
        await database.close();
      }
    });
  withExamples(migrate, 'MLCTL_TRACKING_URI=postgresql://mlctl:secret@db:5432/mlctl mlctl tracking migrate', 'MLCTL_TRACKING_URI=sqlite:./tracking.db mlctl tracking migrate --json');

  const status = tracking
    .command('status')
    .description('Where runs, the registry and artifacts are kept, and whether the tracking tables are current.')
    .action(async (_opts: unknown, command: Command) => {
      const output = context.output(command);
      const settings = trackingSettings(context);
      const { isDatabaseUri, openTrackingDatabase } = await import('../core/tracking/open-tracking-store.js');
      if (!isDatabaseUri(settings.trackingUri)) {
        const doc = { backend: 'files', location: settings.trackingUri, artifacts: settings.artifactUri, current: true, pending: [] as string[] };
        output.result(doc, () => `tracking: the file store at ${doc.location} (runs, registry and bundles in its folders)`);
        return;
      }
      const [{ getMigrationStatus }, { TRACKING_MIGRATIONS, TRACKING_MIGRATION_TABLES }] = await Promise.all([
        import('../core/db/migrator.js'),
        import('../core/tracking/sql/migrations/index.js'),
      ]);
      const database = await openTrackingDatabase(settings);
      try {
        const state = await getMigrationStatus(database, TRACKING_MIGRATIONS, TRACKING_MIGRATION_TABLES);
        const pending = state.migrations.filter((m) => m.state === 'pending').map((m) => m.name);
        const doc = { backend: database.dialect, location: database.target, artifacts: shown(settings.artifactUri), current: pending.length === 0, schema: state.current, pending };
        output.result(doc, () =>
          [
            `tracking:  ${database.dialect} at ${database.target} (schema ${state.current ?? 'not created'})`,
            `artifacts: ${doc.artifacts}`,
            pending.length === 0 ? 'the tracking tables are current' : `${pending.length} migration(s) pending: run \`mlctl tracking migrate\``,
          ].join('\n'),
        );
      } finally {
        await database.close();
      }
    });
  withExamples(status, 'mlctl tracking status', 'mlctl tracking status --json');

  const importCommand = tracking
    .command('import')
    .description(
      'Copy a file store (runs with their params, tags, metric histories and artifacts; the registry with its versions, aliases and audit log) into the configured database store and artifact store, keeping ids, times and version numbers. Running it again adds nothing; a model registered differently in the target is refused (exit 4).',
    )
    .argument('<runs-folder>', 'the file store to copy, e.g. ./runs')
    .action(async (source: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const options: TrackingImportOptions = { source };
      const [{ resolve }, { createFileTrackingStore }, { importFileStore }, { openTracking }] = await Promise.all([
        import('node:path'),
        import('../core/tracking/file-tracking-store.js'),
        import('../core/tracking/tracking-import.js'),
        import('./shared/tracking.js'),
      ]);
      // Four runs are imported at once (tracking-import.ts): a connection each.
      const target = await openTracking(context, { connections: 4 });
      const progress = await output.progress('importing runs');
      let result;
      try {
        result = await importFileStore(createFileTrackingStore({ root: resolve(context.config.cwd, options.source) }), target, {
          signal: context.signal,
          onRun: ({ done, total }) => progress.update(`importing runs: ${done}/${total}`),
        });
      } finally {
        progress.stop();
      }
      for (const skip of result.skipped) output.warn(`${skip.path}: ${skip.reason}`);
      output.result(result, () =>
        [
          `imported ${result.runs.imported} run${result.runs.imported === 1 ? '' : 's'} (${result.metricPoints.toLocaleString('en-US')} metric points) into ${result.target}, artifacts at ${target.artifactLocation}; ${result.runs.present} already there`,
          `models: ${result.models.imported.length} imported${result.models.imported.length === 0 ? '' : ` (${result.models.imported.join(', ')})`}, ${result.models.present.length} already there`,
          `in ${formatDuration(result.seconds * 1000)}`,
        ].join('\n'),
      );
    });
  withExamples(
    importCommand,
    'MLCTL_TRACKING_URI=postgresql://mlctl@db/mlctl MLCTL_ARTIFACT_URI=s3://team-bucket/mlctl mlctl tracking import ./runs',
    'mlctl tracking import ../old-laptop/runs --json',
  );
}
