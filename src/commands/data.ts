import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { POSITIVE_COUNT_RANGE, parseIntFlag, withExamples, type CliContext } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { datasetStoreOptions } from './shared/data-location.js';
import { formatBytes, formatNumber, renderTable } from '../ui/table.js';
import { UsageError } from '../core/errors.js';
import type { DatasetSpec } from '../core/datasets/dataset-spec.js';
import type { DatasetProgressEvent, DatasetStatus, LocalDataset, PullResult } from '../core/datasets/dataset-store.js';
import type { ColumnSummary, TableDescription } from '../core/datasets/dataset-describe.js';
import type { CsvTable } from '../core/datasets/csv-reader.js';

export interface DataPullOptions {
  readonly name: string;
  /** A mirror folder (or an s3:// / https:// prefix) laid out <dir>/<dataset>/<file>; overrides MLCTL_DATA_MIRROR. */
  readonly from: string | undefined;
  readonly force: boolean;
}

export interface DataDescribeOptions {
  /** A built-in dataset name, or a path to a CSV file with a header. */
  readonly name: string;
  readonly file: 'train' | 'test';
  /** Top values listed per text column. */
  readonly top: number;
  /** Missing-value markers replacing the defaults (as a task's "missing"). */
  readonly missing?: readonly string[];
}

export function registerDataCommands(program: Command, context: CliContext): void {
  const data = program.command('data').description('download, verify, list and describe datasets');
  withExamples(data, 'mlctl data pull income', 'mlctl data list', 'mlctl data describe income --file test');

  withExamples(
    data
      .command('pull')
      .description("download a dataset into data/raw/<name>/, verifying every file's SHA-256")
      .argument('<name>', 'dataset name (see `mlctl data list`)')
      .option('--from <dir>', 'fetch from a mirror laid out <dir>/<dataset>/<file>: a folder, s3://bucket/prefix or https:// URL (overrides MLCTL_DATA_MIRROR)')
      .option('--force', 'fetch again even when the files are present and verified', false)
      .action(async (name: string, flags: { from?: string; force: boolean }, command: Command) => {
        await runPull(context, command, { name, from: flags.from, force: flags.force });
      }),
    'mlctl data pull income',
    'mlctl data pull income --from ../shared/data',
    'mlctl data pull housing --from s3://my-bucket/datasets --force --json',
  );

  withExamples(
    data
      .command('list')
      .description('list the built-in datasets: files present and verified, rows')
      .action(async (_flags: unknown, command: Command) => {
        await runList(context, command);
      }),
    'mlctl data list',
    'mlctl data list --json',
  );

  withExamples(
    data
      .command('describe')
      .description('per-column statistics: type, missing, distinct, min/mean/max or top values')
      .argument('<name>', 'a dataset name, or a path to a CSV file with a header')
      .addOption(new Option('--file <role>', 'which file of the dataset').choices(['train', 'test']).default('train'))
      .option('--top <n>', 'top values listed per text column', parseIntFlag('--top', POSITIVE_COUNT_RANGE), 5)
      .option('--missing <markers>', 'comma-separated values read as missing, replacing the defaults ("", NA, N/A, NaN, null, ?, .), as a task\'s "missing" does')
      .action(async (name: string, flags: { file: 'train' | 'test'; top: number; missing?: string }, command: Command) => {
        await runDescribe(context, command, { name, file: flags.file, top: flags.top, ...(flags.missing === undefined ? {} : { missing: flags.missing.split(',') }) });
      }),
    'mlctl data describe income',
    'mlctl data describe income --file test --json',
    'mlctl data describe ./my-data.csv',
    "mlctl data describe ./my-data.csv --missing ',-,n/a'",
  );
}

/**
 * Shows a dataset transfer on a TTY (one spinner, updated with each file's bytes) and a
 * line per fetched file on stderr elsewhere. Nothing is shown when every file is already
 * present. Other commands that call `ensureDataset` use it too.
 */
export function createDatasetProgress(output: Output, dataset: string): {
  onProgress: (event: DatasetProgressEvent) => void;
  finish: (ok: boolean) => Promise<void>;
} {
  let spinner: ReturnType<Output['progress']> | undefined;
  const started = new Set<string>();
  let fetched = 0;
  return {
    onProgress: (event) => {
      const size = event.totalBytes === null ? formatBytes(event.bytes) : `${formatBytes(event.bytes)} / ${formatBytes(event.totalBytes)}`;
      if (!event.done) {
        started.add(event.file);
        spinner ??= output.progress(`${dataset}: ${event.file}`);
        void spinner.then((p) => p.update(`${dataset}: ${event.file} ${size}`));
      } else if (started.has(event.file)) {
        fetched++;
        if (!output.interactive) output.info(`${dataset}: ${event.file} fetched and verified (${formatBytes(event.bytes)})`);
      }
    },
    finish: async (ok) => {
      if (spinner === undefined) return;
      const p = await spinner;
      if (!ok) p.fail(`${dataset}: pull failed`);
      else if (output.interactive) p.succeed(`${dataset}: ${fetched} file${fetched === 1 ? '' : 's'} fetched and verified`);
      else p.stop();
    },
  };
}

/**
 * `ensureDataset` for a command: verifies the dataset's files, pulling what is missing from
 * MLCTL_DATA_MIRROR or the network with a progress display. Any command that needs a
 * dataset's files calls this.
 */
export async function ensureDatasetWithProgress(context: CliContext, output: Output, spec: DatasetSpec): Promise<LocalDataset> {
  const { ensureDataset } = await import('../core/datasets/dataset-store.js');
  const progress = createDatasetProgress(output, spec.name);
  try {
    const local = await ensureDataset(spec, { ...datasetStoreOptions(context), onProgress: progress.onProgress });
    await progress.finish(true);
    return local;
  } catch (error) {
    await progress.finish(false);
    throw error;
  }
}

/**
 * Opens s3:// dataset sources (a mirror on S3, or a custom dataset's URL). The AWS SDK is
 * loaded on the first s3:// read only, so commands that never touch S3 stay light.
 */
function mirrorFor(context: CliContext, from: string | undefined): string | undefined {
  if (from === undefined) return context.config.dataMirror;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(from) ? from : resolve(context.config.cwd, from);
}

async function runPull(context: CliContext, command: Command, options: DataPullOptions): Promise<void> {
  const output = context.output(command);
  const { getDatasetSpec } = await import('../core/datasets/dataset-registry.js');
  const { pullDataset } = await import('../core/datasets/dataset-store.js');
  const spec = getDatasetSpec(options.name);
  const progress = createDatasetProgress(output, spec.name);
  let result: PullResult;
  try {
    result = await pullDataset(spec, {
      ...datasetStoreOptions(context, mirrorFor(context, options.from)),
      force: options.force,
      onProgress: progress.onProgress,
    });
  } catch (error) {
    await progress.finish(false);
    throw error;
  }
  await progress.finish(true);
  output.result(result, () => '');
  if (output.json) return;
  const table = await renderTable({
    head: ['file', 'action', 'size', 'sha256', 'source'],
    rows: result.files.map((file) => [file.name, file.action, formatBytes(file.bytes), `${file.sha256.slice(0, 12)}…`, file.source === '' ? '' : file.source]),
    alignRight: [2],
    color: output.color,
  });
  output.print(`${table}\n${spec.name}: ${result.files.length} file${result.files.length === 1 ? '' : 's'} verified in ${result.dir}`);
}

async function runList(context: CliContext, command: Command): Promise<void> {
  const output = context.output(command);
  const { listDatasetSpecs } = await import('../core/datasets/dataset-registry.js');
  const { datasetStatus } = await import('../core/datasets/dataset-store.js');
  const statuses: DatasetStatus[] = [];
  for (const spec of listDatasetSpecs()) statuses.push(await datasetStatus(spec, { dataDir: context.config.dataDir }));
  const table = await (output.json
    ? Promise.resolve('')
    : renderTable({
        head: ['name', 'files', 'present', 'verified', 'rows', 'description'],
        rows: statuses.map((status) => [
          status.dataset,
          status.files.map((file) => file.name).join(', '),
          `${status.files.filter((file) => file.present).length}/${status.files.length}`,
          verifiedLabel(status),
          status.rows === null ? '' : formatNumber(status.rows),
          status.description,
        ]),
        alignRight: [4],
        color: output.color,
      }));
  output.result({ dataDir: context.config.dataDir, datasets: statuses }, () => table);
  const corrupt = statuses.filter((status) => status.files.some((file) => file.present && !file.verified));
  for (const status of corrupt) {
    const names = status.files.filter((file) => file.present && !file.verified).map((file) => file.name).join(', ');
    output.warn(`${status.dataset}: ${names} failed SHA-256 verification; run \`mlctl data pull ${status.dataset} --force\``);
  }
}

function verifiedLabel(status: DatasetStatus): string {
  if (status.files.every((file) => !file.present)) return 'not pulled';
  if (status.ready) return 'yes';
  const bad = status.files.filter((file) => file.present && !file.verified).map((file) => file.name);
  if (bad.length > 0) return `NO: ${bad.join(', ')} changed`;
  return 'partial';
}

async function runDescribe(context: CliContext, command: Command, options: DataDescribeOptions): Promise<void> {
  const output = context.output(command);
  const { isBuiltinDataset, getDatasetSpec } = await import('../core/datasets/dataset-registry.js');
  const { describeTable } = await import('../core/datasets/dataset-describe.js');
  let source: { dataset: string | null; file: string; path: string };
  let description: TableDescription;
  let table: CsvTable;
  const asPath = resolve(context.config.cwd, options.name);
  if (!isBuiltinDataset(options.name) && existsSync(asPath)) {
    const { readCsvFile } = await import('../core/datasets/csv-reader.js');
    table = await readCsvFile(asPath, options.missing === undefined ? {} : { missing: options.missing });
    description = describeTable(table, { top: options.top });
    source = { dataset: null, file: options.name, path: asPath };
  } else {
    const spec = getDatasetSpec(options.name);
    const { readDatasetFile } = await import('../core/datasets/csv-reader.js');
    const local = await ensureDatasetWithProgress(context, output, spec);
    const file = local.file(options.file);
    if (file === undefined) {
      const roles = local.files.filter((f) => f.role !== 'doc').map((f) => f.role).join(', ');
      throw new UsageError('DATASET_FILE_ROLE', `dataset ${spec.name} has no ${options.file} file (it has: ${roles})`);
    }
    table = await readDatasetFile(file.path, spec, spec.files.find((f) => f.name === file.name), options.missing === undefined ? {} : { missing: options.missing });
    description = describeTable(table, { top: options.top });
    source = { dataset: spec.name, file: file.name, path: file.path };
  }
  // What a task inferred from this file would make of each column (task init's rules).
  const { profileColumn } = await import('../core/tasks/column-profile.js');
  const columns = description.columns.map((column) => ({ ...column, kind: profileColumn(column.name, table.records).kind }));
  const result = { ...source, rows: description.rows, columns };
  if (output.json) {
    output.result(result, () => '');
    return;
  }
  const rendered = await renderTable({
    head: ['column', 'type', 'inferred', 'missing', 'distinct', 'min', 'mean', 'max', 'top values'],
    rows: columns.map((column) => [
      column.name,
      column.type,
      column.kind,
      formatNumber(column.missing),
      formatNumber(column.distinct),
      formatStatistic(column.min),
      formatStatistic(column.mean),
      formatStatistic(column.max),
      topValues(column, output.columns),
    ]),
    alignRight: [3, 4, 5, 6, 7],
    color: output.color,
  });
  const title = `${source.dataset === null ? source.file : `${source.dataset} · ${source.file}`} · ${formatNumber(description.rows)} rows · ${source.path}`;
  output.result(result, () => `${title}\n${rendered}`);
}

function formatStatistic(value: number | undefined): string {
  if (value === undefined) return '';
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function topValues(column: ColumnSummary, width: number): string {
  if (column.top === undefined) return '';
  const text = column.top.map((entry) => `${entry.value} (${formatNumber(entry.count)})`).join(', ');
  const room = Math.max(30, width - 80);
  return text.length > room ? `${text.slice(0, room - 1)}…` : text;
}
