import { join } from 'node:path';
import { Argument, type Command } from 'commander';
import { parseIntFlag, withExamples, type CliContext } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { formatBytes, formatDuration, renderTable } from '../ui/table.js';
import { UsageError } from '../core/errors.js';
import type { SyncProgressEvent } from '../core/storage/sync.js';
import type { ScopeSyncResult, SyncScope, WorkspaceSyncResult } from '../core/storage/workspace-sync.js';

export type SyncDirection = 'push' | 'pull';

export interface SyncCommandOptions {
  readonly direction: SyncDirection;
  readonly scope: SyncScope | 'all';
  /** s3://bucket/prefix; each scope lives under <remote>/<scope>/. */
  readonly remote: string;
  readonly dryRun: boolean;
  /** Delete on the destination what the source lacks (remote objects on push, local files on pull). */
  readonly delete: boolean;
  /** Lift the safety rules: delete remote objects pushed by others, overwrite registry changes. */
  readonly force: boolean;
  readonly concurrency: number;
}

const SCOPES = ['runs', 'models', 'data', 'all'] as const;
const MAX_CONCURRENCY = 64;
/** Changes listed one per line in human output before the rest is counted. */
const SHOWN_CHANGES = 40;

export function registerSyncCommands(program: Command, context: CliContext): void {
  const sync = program
    .command('sync')
    .description('push and pull runs, registered models and raw data to and from S3 (incremental, verified)');
  withExamples(sync, 'mlctl sync push', 'mlctl sync pull runs --remote s3://team-bucket/mlctl', 'mlctl sync push all --dry-run --delete');

  for (const direction of ['push', 'pull'] as const) {
    const command = sync
      .command(direction)
      .description(
        direction === 'push'
          ? 'upload what changed locally; an object with the same size and SHA-256 is skipped'
          : 'download what changed remotely, verifying each SHA-256; files are written atomically',
      )
      .addArgument(new Argument('[scope]', 'what to sync: runs (MLCTL_RUNS_DIR), models (the registry), data (data/raw), or all').choices(SCOPES).default('all'))
      .option('--remote <uri>', 'the remote root, s3://bucket/prefix (default: s3://$MLCTL_S3_BUCKET/mlctl)')
      .option('--dry-run', 'show what would change, change nothing', false)
      .option(
        '--delete',
        direction === 'push'
          ? 'delete remote objects that no longer exist locally, of those this workspace pushed (and nobody changed since); teammates’ objects stay'
          : 'delete local files (under the synced folders) that no longer exist remotely; registry entries made here and not pushed stay',
        false,
      )
      .option(
        '--force',
        direction === 'push'
          ? 'with --delete, delete remote objects this workspace did not push too; overwrite registry files (models, aliases) changed remotely since the last pull'
          : 'overwrite (and with --delete, delete) registry files changed here since the last sync',
        false,
      )
      .option('--concurrency <n>', `transfers in flight at once (1-${MAX_CONCURRENCY})`, parseIntFlag('--concurrency', { min: 1, max: MAX_CONCURRENCY }), 8)
      .action(async (scope: SyncScope | 'all', flags: { remote?: string; dryRun: boolean; delete: boolean; force: boolean; concurrency: number }, cmd: Command) => {
        await runSync(context, cmd, {
          direction,
          scope,
          remote: resolveRemote(flags.remote, context.config.s3Bucket),
          dryRun: flags.dryRun,
          delete: flags.delete,
          force: flags.force,
          concurrency: flags.concurrency,
        });
      });
    withExamples(
      command,
      `mlctl sync ${direction}`,
      `mlctl sync ${direction} runs --remote s3://team-bucket/mlctl`,
      `mlctl sync ${direction} all --dry-run --delete --json`,
    );
    command.addHelpText(
      'after',
      direction === 'push'
        ? `
What this workspace pushed to each remote is recorded under $MLCTL_RUNS_DIR/.sync/: --delete
removes only those objects, so a fresh clone never deletes its teammates' work (--force does).
A registry file (a model's versions and aliases) that changed on the remote since this
workspace last pulled it is not overwritten: the push exits 4 naming the model and versions;
run \`mlctl sync pull models\` first.`
        : `
Files and model bundles are downloaded into $MLCTL_RUNS_DIR/.sync/tmp (data: into
$MLCTL_DATA_DIR/cache/sync/tmp) and moved in whole: a pull that is interrupted leaves nothing
half-written, and running it again completes it. A
registry file changed here since the last sync is not overwritten by the remote's: the pull
exits 4 naming the model and versions (--force takes the remote's).`,
    );
  }
}

function resolveRemote(flag: string | undefined, bucket: string | undefined): string {
  if (flag !== undefined) return flag;
  if (bucket !== undefined) return `s3://${bucket}/mlctl`;
  throw new UsageError('SYNC_REMOTE_MISSING', 'no remote to sync with', {
    hint: 'pass --remote s3://bucket/prefix, or set MLCTL_S3_BUCKET (then the remote is s3://$MLCTL_S3_BUCKET/mlctl)',
  });
}

async function runSync(context: CliContext, command: Command, options: SyncCommandOptions): Promise<void> {
  const output = context.output(command);
  const [{ openArtifactStore, isRemoteLocation }, { defineSyncScopes, syncWorkspace, SYNC_STATE_DIR }] = await Promise.all([
    import('../core/storage/open-artifact-store.js'),
    import('../core/storage/workspace-sync.js'),
  ]);
  const { config } = context;
  if (config.trackingUri !== config.runsDir && options.scope !== 'data') {
    // A database store is already shared: syncing the runs folder beside it would only confuse.
    throw new UsageError('SYNC_TRACKING_SHARED', `runs and the model registry are in the tracking store at ${config.trackingUri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@')}, which the team shares already: there is nothing to ${options.direction} for "${options.scope}"`, {
      hint: '`mlctl sync push data` and `mlctl sync pull data` still move datasets; `mlctl tracking import ./runs` copies a runs folder into the shared store',
    });
  }
  if (!isRemoteLocation(options.remote)) {
    throw new UsageError('SYNC_REMOTE_INVALID', `--remote must be a remote store such as s3://bucket/prefix, got "${options.remote}"`, { hint: 'e.g. --remote s3://team-bucket/mlctl' });
  }
  const storeSettings = { cwd: config.cwd, aws: config.aws, hashCacheDir: join(config.dataDir, 'cache', 'sync'), concurrency: options.concurrency };
  // Opened once first: a malformed remote fails here, before anything is compared.
  await openArtifactStore(options.remote, storeSettings);
  const verb = options.direction === 'push' ? 'push' : 'pull';
  const progress = await output.progress(`${verb}: listing`);
  let scopeName = '';
  let result: WorkspaceSyncResult;
  try {
    result = await syncWorkspace({
      openRemote: (uri) => openArtifactStore(uri, storeSettings),
      direction: options.direction,
      remote: options.remote,
      scopes: defineSyncScopes(options.scope, { runsDir: config.runsDir, dataDir: config.dataDir }),
      cacheDir: join(config.dataDir, 'cache', 'sync'),
      stateDir: join(config.runsDir, SYNC_STATE_DIR, 'remotes'),
      dryRun: options.dryRun,
      deleteExtraneous: options.delete,
      force: options.force,
      concurrency: options.concurrency,
      signal: context.signal,
      onScope: (scope, remote) => {
        scopeName = scope.scope;
        progress.update(`${verb} ${scopeName}: comparing ${options.direction === 'push' ? `${scope.localDir} with ${remote}` : `${remote} with ${scope.localDir}`}`);
        output.debug(`${verb} ${scope.scope}: ${scope.localDir} ${options.direction === 'push' ? '→' : '←'} ${remote}`);
      },
      onProgress: (event) => progress.update(describeProgress(verb, scopeName, event)),
    });
  } catch (error) {
    // Elsewhere than a TTY the error line alone says it.
    if (output.interactive) progress.fail(`${verb} failed`);
    else progress.stop();
    throw error;
  }
  if (output.interactive) progress.succeed(`${verb} done in ${formatDuration(result.totals.seconds * 1000)}`);
  else progress.stop();
  if (result.totals.unverified > 0) {
    output.warn(`${result.totals.unverified} object${result.totals.unverified === 1 ? '' : 's'} had no x-amz-meta-sha256 (written by another tool): checked by size only`);
  }
  const kept = result.scopes.flatMap((scope) => scope.kept.map((entry) => ({ scope: scope.scope, ...entry })));
  if (kept.length > 0 && !result.dryRun) {
    const where = options.direction === 'push' ? 'remote object' : 'local file';
    const reasons = [...new Set(kept.map((entry) => entry.reason))].join('; ');
    output.warn(
      `${kept.length} ${where}${kept.length === 1 ? '' : 's'} not deleted (${reasons}): ${kept.slice(0, 5).map((entry) => `${entry.scope}/${entry.key}`).join(', ')}${kept.length > 5 ? ', …' : ''}; ` +
        `--force deletes ${kept.length === 1 ? 'it' : 'them'} too`,
    );
  }
  const changed = result.scopes.flatMap((scope) => scope.changedDuringSync.map((key) => `${scope.scope}/${key}`));
  if (changed.length > 0) {
    output.warn(`${changed.length} file${changed.length === 1 ? '' : 's'} changed while syncing and will go next time: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''}`);
  }
  const json = toJson(result);
  const human = await renderHuman(result, output);
  output.result(json, () => human);
}

function describeProgress(verb: string, scope: string, event: SyncProgressEvent): string {
  if (event.phase === 'comparing') return `${verb} ${scope}: comparing ${event.filesTotal} files`;
  if (event.phase === 'deleting') return `${verb} ${scope}: deleting ${event.filesTotal} files`;
  return `${verb} ${scope}: ${event.filesDone}/${event.filesTotal} files, ${formatBytes(event.bytesDone)} / ${formatBytes(event.bytesTotal)}`;
}

/** The JSON document: "uploaded" on push, "downloaded" on pull, per scope and in total. */
function toJson(result: WorkspaceSyncResult): unknown {
  const moved = result.direction === 'push' ? 'uploaded' : 'downloaded';
  const changeAction = result.direction === 'push' ? 'upload' : 'download';
  return {
    direction: result.direction,
    remote: result.remote,
    dryRun: result.dryRun,
    [moved]: result.totals.transferred,
    skipped: result.totals.skipped,
    deleted: result.totals.deleted,
    bytes: result.totals.bytes,
    unverified: result.totals.unverified,
    seconds: result.totals.seconds,
    scopes: result.scopes.map((scope) => ({
      scope: scope.scope,
      local: result.direction === 'push' ? scope.source : scope.destination,
      remote: result.direction === 'push' ? scope.destination : scope.source,
      [moved]: scope.transferred,
      skipped: scope.skipped,
      deleted: scope.deleted,
      bytes: scope.bytes,
      seconds: scope.seconds,
      ...(scope.note === undefined ? {} : { note: scope.note }),
      changedDuringSync: scope.changedDuringSync,
      changes: scope.changes.map((change) => ({ action: change.action === 'transfer' ? changeAction : 'delete', key: change.key, bytes: change.bytes })),
      kept: scope.kept,
    })),
  };
}

async function renderHuman(result: WorkspaceSyncResult, output: Output): Promise<string> {
  const push = result.direction === 'push';
  const moved = push ? 'uploaded' : 'downloaded';
  const lines: string[] = [];
  if (result.dryRun) {
    const changes = result.scopes.flatMap((scope) => scope.changes.map((change) => ({ scope, change })));
    for (const { scope, change } of changes.slice(0, SHOWN_CHANGES)) {
      const action = change.action === 'delete' ? 'delete' : push ? 'upload' : 'download';
      lines.push(`would ${action} ${scope.scope}/${change.key} (${formatBytes(change.bytes)})`);
    }
    if (changes.length > SHOWN_CHANGES) lines.push(`… and ${changes.length - SHOWN_CHANGES} more`);
    const kept = result.scopes.flatMap((scope) => scope.kept.map((entry) => ({ scope, entry })));
    for (const { scope, entry } of kept.slice(0, SHOWN_CHANGES)) lines.push(`would keep ${scope.scope}/${entry.key}: ${entry.reason}`);
    if (kept.length > SHOWN_CHANGES) lines.push(`… and ${kept.length - SHOWN_CHANGES} more kept`);
    if (changes.length === 0 && kept.length === 0) lines.push('nothing to change');
  }
  lines.push(
    await renderTable({
      head: ['scope', push ? 'local → remote' : 'remote → local', result.dryRun ? `to ${push ? 'upload' : 'download'}` : moved, 'skipped', result.dryRun ? 'to delete' : 'deleted', 'bytes'],
      rows: result.scopes.map((scope: ScopeSyncResult) => [
        scope.scope,
        scope.note ?? (push ? `${scope.source} → ${scope.destination}` : `${scope.source} → ${scope.destination}`),
        scope.transferred,
        scope.skipped,
        scope.deleted,
        formatBytes(scope.bytes),
      ]),
      alignRight: [2, 3, 4, 5],
      color: output.color,
    }),
  );
  const { totals } = result;
  lines.push(
    `${result.dryRun ? 'dry run: ' : ''}${totals.transferred} ${result.dryRun ? `to ${push ? 'upload' : 'download'}` : moved}, ${totals.skipped} skipped, ` +
      `${totals.deleted} ${result.dryRun ? 'to delete' : 'deleted'}, ${formatBytes(totals.bytes)} in ${formatDuration(totals.seconds * 1000)}`,
  );
  return lines.join('\n');
}
