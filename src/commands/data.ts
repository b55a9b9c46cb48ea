import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { POSITIVE_COUNT_RANGE, parseIntFlag, withExamples, type CliContext } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { datasetStoreOptions } from './shared/data-location.js';
import { formatBytes, formatNumber, readingLine, renderTable } from '../ui/table.js';
import { UsageError } from '../core/errors.js';
import type { DatasetSpec } from '../core/datasets/dataset-spec.js';
import type { DatasetProgressEvent, DatasetStatus, LocalDataset, PullResult } from '../core/datasets/dataset-store.js';
import type { ColumnDescription, FileDescription } from '../core/datasets/csv-profile.js';
import type { BadLinePolicy } from '../core/datasets/bad-lines.js';

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
  /** A line with the wrong number of fields: refuse the file (default) or skip and count it. */
  readonly onBadLine: BadLinePolicy;
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
      .description('per-column statistics in one streaming pass: type, missing, distinct, min/mean/max/quartiles or top values')
      .argument('<name>', 'a dataset name, or a path to a CSV file with a header')
      .addOption(new Option('--file <role>', 'which file of the dataset').choices(['train', 'test']).default('train'))
      .option('--top <n>', 'top values listed per text column', parseIntFlag('--top', POSITIVE_COUNT_RANGE), 5)
      .option('--missing <markers>', 'comma-separated values read as missing, replacing the defaults ("", NA, N/A, NaN, null, ?, .), as a task\'s "missing" does')
      .addOption(onBadLineOption())
      .addHelpText(
        'after',
        `\nThe file is streamed: memory stays bounded whatever its size. Counts, missing, mean, std, min and max are exact;
distinct counts and top values are exact up to 100,000 distinct values per column and estimated past that,
quartiles exact up to 100,000 numbers per column and estimated from a sample past that; estimates are marked
"~" (and listed under "approximate" with --json). Progress (bytes read, ETA) shows on a terminal.`,
      )
      .action(async (name: string, flags: { file: 'train' | 'test'; top: number; missing?: string; onBadLine: BadLinePolicy }, command: Command) => {
        await runDescribe(context, command, { name, file: flags.file, top: flags.top, onBadLine: flags.onBadLine, ...(flags.missing === undefined ? {} : { missing: flags.missing.split(',') }) });
      }),
    'mlctl data describe income',
    'mlctl data describe income --file test --json',
    'mlctl data describe ./my-data.csv',
    "mlctl data describe ./my-data.csv --missing ',-,n/a'",
    'mlctl data describe ./big.csv --on-bad-line skip',
  );
}

/** --on-bad-line, as data describe, train and predict take it. */
export function onBadLineOption(): Option {
  return new Option('--on-bad-line <policy>', 'a line with the wrong number of fields: error (refuse the file, naming the lines) or skip (leave it out, counted)').choices(['error', 'skip']).default('error');
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
  const { profileCsvFile, profileDatasetFile } = await import('../core/datasets/csv-profile.js');
  const asPath = resolve(context.config.cwd, options.name);
  let source: { dataset: string | null; file: string; path: string };
  if (!isBuiltinDataset(options.name) && existsSync(asPath)) {
    source = { dataset: null, file: options.name, path: asPath };
  } else {
    const spec = getDatasetSpec(options.name);
    const local = await ensureDatasetWithProgress(context, output, spec);
    const file = local.file(options.file);
    if (file === undefined) {
      const roles = local.files.filter((f) => f.role !== 'doc').map((f) => f.role).join(', ');
      throw new UsageError('DATASET_FILE_ROLE', `dataset ${spec.name} has no ${options.file} file (it has: ${roles})`);
    }
    source = { dataset: spec.name, file: file.name, path: file.path };
  }
  const progress = await output.progress(`reading ${source.file}`);
  const started = performance.now();
  const profileOptions = {
    top: options.top,
    onBadLine: options.onBadLine,
    signal: context.signal,
    ...(options.missing === undefined ? {} : { missing: options.missing }),
    onProgress: (read: number, total: number, rows: number) => progress.update(readingLine(source.file, read, total, rows, performance.now() - started)),
  };
  let description: FileDescription;
  try {
    if (source.dataset === null) {
      description = await profileCsvFile(source.path, profileOptions);
    } else {
      const spec = getDatasetSpec(source.dataset);
      description = await profileDatasetFile(source.path, spec, spec.files.find((f) => f.name === source.file), profileOptions);
    }
  } finally {
    progress.stop();
  }
  if (description.badLines !== undefined) {
    const { describeBadLines } = await import('../core/datasets/bad-lines.js');
    output.warn(describeBadLines(source.file, description.badLines));
  }
  const result = { ...source, rows: description.rows, bytes: description.bytes, columns: description.columns, ...(description.badLines === undefined ? {} : { badLines: description.badLines }) };
  if (output.json) {
    output.result(result, () => '');
    return;
  }
  const columns = description.columns;
  const approximate = (column: ColumnDescription, statistic: 'distinct' | 'top' | 'quartiles') => (column.approximate?.includes(statistic) === true ? '~' : '');
  const rendered = await renderTable({
    head: ['column', 'type', 'inferred', 'missing', 'distinct', 'min', 'mean', 'median', 'max', 'top values'],
    rows: columns.map((column) => [
      column.name,
      column.type,
      column.kind,
      formatNumber(column.missing),
      `${approximate(column, 'distinct')}${formatNumber(column.distinct)}`,
      formatStatistic(column.min),
      formatStatistic(column.mean),
      column.quartiles === undefined ? '' : `${approximate(column, 'quartiles')}${formatStatistic(column.quartiles[1])}`,
      formatStatistic(column.max),
      `${approximate(column, 'top')}${topValues(column, output.columns)}`,
    ]),
    alignRight: [3, 4, 5, 6, 7, 8],
    color: output.color,
  });
  const estimated = columns.some((column) => column.approximate !== undefined) ? '\n~ estimated (see `mlctl data describe --help`)' : '';
  const title = `${source.dataset === null ? source.file : `${source.dataset} · ${source.file}`} · ${formatNumber(description.rows)} rows · ${formatBytes(description.bytes)} · ${source.path}`;
  output.result(result, () => `${title}\n${rendered}${estimated}`);
}

function formatStatistic(value: number | undefined): string {
  if (value === undefined) return '';
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function topValues(column: ColumnDescription, width: number): string {
  if (column.top === undefined) return '';
  const text = column.top.map((entry) => `${entry.value} (${formatNumber(entry.count)})`).join(', ');
  const room = Math.max(30, width - 80);
  return text.length > room ? `${text.slice(0, room - 1)}…` : text;
}
