import { Option, type Command } from 'commander';
import { UsageError } from '../core/errors.js';
import type { RunRecord } from '../core/tracking/run-store.js';
import type { Lifecycle, TrackingStore } from '../core/tracking/tracking-store.js';
import { COUNT_RANGE, parseIntFlag, withExamples, type CliContext } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { formatBytes, formatDuration, formatNumber, renderTable } from '../ui/table.js';

export interface RunsListOptions {
  readonly experiment?: string;
  readonly filter?: string;
  readonly orderBy?: string;
  readonly limit: number;
  readonly lifecycle: Lifecycle;
}

export interface RunsExportOptions extends Omit<RunsListOptions, 'limit'> {
  readonly format: 'csv' | 'json';
  readonly output?: string;
}

/** The default number of runs `runs list` prints; --limit 0 prints all. */
const DEFAULT_LIST_LIMIT = 50;

async function openStore(context: CliContext): Promise<TrackingStore> {
  const { openTracking } = await import('./shared/tracking.js');
  return openTracking(context);
}

function lifecycleOf(opts: { all?: boolean; deleted?: boolean }): Lifecycle {
  if (opts.all === true && opts.deleted === true) {
    throw new UsageError('CONFLICTING_FLAGS', '--all and --deleted cannot be combined', { hint: '--all shows active and deleted runs; --deleted only deleted ones' });
  }
  return opts.all === true ? 'all' : opts.deleted === true ? 'deleted' : 'active';
}

/**
 * The JSON shape of one run in `runs list` (and, with where its artifacts are, `runs show`):
 * the same on every tracking backend, so lists compare across stores.
 */
function runJson(run: RunRecord): Record<string, unknown> {
  return {
    ...run.info,
    ...(run.statusDetail === undefined ? {} : { statusDetail: run.statusDetail }),
    deleted: run.deleted,
    params: run.params,
    metrics: run.metrics,
    tags: run.tags,
  };
}

function formatTime(iso: string | null): string {
  if (iso === null) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function runDuration(run: RunRecord): string {
  if (run.info.endTime === null) return run.info.status === 'RUNNING' ? 'running' : '';
  return formatDuration(Date.parse(run.info.endTime) - Date.parse(run.info.startTime));
}

function styleStatus(output: Output, status: string): string {
  if (status === 'FINISHED') return output.style('green', status);
  if (status === 'RUNNING') return output.style('cyan', status);
  return output.style('red', status);
}

/** Metric columns for a list: those the user filtered or sorted by, then the most common. */
function metricColumns(runs: readonly RunRecord[], mentioned: readonly string[], max = 4): string[] {
  const counts = new Map<string, number>();
  for (const run of runs) for (const key of Object.keys(run.metrics)) counts.set(key, (counts.get(key) ?? 0) + 1);
  const rest = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  const columns = [...new Set([...mentioned.filter((k) => counts.has(k)), ...rest])];
  return columns.slice(0, Math.max(max, mentioned.length));
}

function mentionedMetrics(...sources: (string | undefined)[]): string[] {
  const keys: string[] = [];
  for (const source of sources) {
    if (source === undefined) continue;
    for (const match of source.matchAll(/metrics?\.([A-Za-z0-9_][A-Za-z0-9_.-]*)/gi)) keys.push(match[1]!);
  }
  return keys;
}

export function registerRunsCommands(program: Command, context: CliContext): void {
  const runs = program.command('runs').description('Query and maintain tracked runs (the store is MLCTL_TRACKING_URI: ./runs by default, or postgresql://…).');
  withExamples(
    runs,
    'mlctl runs list --filter "metrics.accuracy > 0.85 and params.learningRate = 0.004" --order-by "metrics.auc desc"',
    'mlctl runs show fair-bison-54',
    'mlctl runs verify',
  );

  const list = runs
    .command('list')
    .alias('ls')
    .description('List runs, newest first, filtered and ordered by metrics, params, tags and attributes.')
    .option('-e, --experiment <name>', 'only runs of this experiment')
    .option(
      '-f, --filter <expr>',
      'e.g. "metrics.auc > 0.9 and (params.optimizer = \'adam\' or tags.team LIKE \'ml%\')"; fields: metrics.<key>, params.<key>, tags.<key>, status, name, experiment, start_time, end_time, duration, user, host, dataset, backend, task; operators = != < <= > >= LIKE ILIKE; AND, OR, ()',
    )
    .option('-o, --order-by <terms>', 'e.g. "metrics.auc desc, start_time"')
    .option('-n, --limit <n>', `at most this many runs (0: all; default ${DEFAULT_LIST_LIMIT})`, parseIntFlag('--limit', COUNT_RANGE))
    .option('--all', 'include deleted runs')
    .option('--deleted', 'only deleted runs')
    .action(async (opts: { experiment?: string; filter?: string; orderBy?: string; limit?: number; all?: boolean; deleted?: boolean }, command: Command) => {
      const output = context.output(command);
      const options: RunsListOptions = {
        ...(opts.experiment === undefined ? {} : { experiment: opts.experiment }),
        ...(opts.filter === undefined ? {} : { filter: opts.filter }),
        ...(opts.orderBy === undefined ? {} : { orderBy: opts.orderBy }),
        limit: opts.limit ?? DEFAULT_LIST_LIMIT,
        lifecycle: lifecycleOf(opts),
      };
      const { listRuns } = await import('../core/tracking/run-operations.js');
      const store = await openStore(context);
      const result = await listRuns(store, options);
      if (result.notes.rebuiltIndex !== undefined) output.debug(`index rebuilt (${result.notes.rebuiltIndex} runs)`);
      if (result.notes.unreadable !== undefined) output.warn(`${result.notes.unreadable} run folder(s) could not be read; run \`mlctl runs verify\``);
      const columns = metricColumns(result.runs, mentionedMetrics(options.filter, options.orderBy));
      const table = output.json
        ? ''
        : await renderTable({
            head: ['id', 'name', 'experiment', 'status', 'started', 'duration', ...columns],
            rows: result.runs.map((run) => [
              run.info.id,
              run.info.name + (run.deleted ? ' (deleted)' : ''),
              run.info.experiment,
              styleStatus(output, run.info.status),
              formatTime(run.info.startTime),
              runDuration(run),
              ...columns.map((key) => formatNumber(run.metrics[key])),
            ]),
            alignRight: columns.map((_, i) => i + 6),
            color: output.color,
          });
      output.result({ total: result.total, count: result.runs.length, runs: result.runs.map(runJson) }, () => {
        if (result.runs.length === 0) return result.total === 0 ? 'No runs match.' : '';
        const more = result.total > result.runs.length ? `\n${result.runs.length} of ${result.total} runs shown; use --limit 0 for all.` : '';
        return `${table}${more}`;
      });
    });
  withExamples(
    list,
    'mlctl runs list',
    'mlctl runs list --experiment income --filter "status = \'FINISHED\' and metrics.auc >= 0.9" --order-by "metrics.auc desc" --limit 5',
    'mlctl runs list --filter "params.optimizer LIKE \'ad%\' or tags.mlctl.gates = \'passed\'" --json',
  );

  const show = runs
    .command('show')
    .description('Show one run: params, final metrics with a chart of each history, tags, artifacts.')
    .argument('<run>', 'a run id (or 6 or more of its first characters) or a run name, e.g. fair-bison-54')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const { showRun } = await import('../core/tracking/run-operations.js');
      const { sparkline } = await import('../core/tracking/metric-chart.js');
      const details = await showRun(await openStore(context), id);
      const { run } = details;
      if (output.json) {
        output.result({ ...runJson(run), artifactUri: run.artifactUri, history: details.history, artifacts: details.artifacts }, () => '');
        return;
      }
      const info = run.info;
      const lines: string[] = [];
      lines.push(`${output.style('bold', `Run ${info.id}`)}  ${info.name}${run.deleted ? output.style('yellow', '  (deleted)') : ''}`);
      const facts: [string, string | null][] = [
        ['experiment', info.experiment],
        ['status', styleStatus(output, info.status) + (run.statusDetail === undefined ? '' : `  (${run.statusDetail})`)],
        ['started', `${formatTime(info.startTime)}${info.endTime === null ? '' : `   ended ${formatTime(info.endTime)} (${runDuration(run)})`}`],
        ['by', `${info.user}@${info.host} (pid ${info.pid})`],
        ['command', info.commandLine],
        ['git commit', info.gitCommit],
        ['task', info.task],
        ['dataset', info.datasetSha256 === null ? null : `sha256 ${info.datasetSha256}`],
        ['backend', info.backend],
        ['note', info.note],
        ['artifacts', run.artifactUri],
      ];
      for (const [label, value] of facts) if (value !== null && value !== '') lines.push(`  ${label.padEnd(11)}${value}`);
      const params = Object.entries(run.params);
      if (params.length > 0) {
        lines.push('', output.style('bold', 'Params'));
        lines.push(await renderTable({ head: ['param', 'value'], rows: params.map(([k, v]) => [k, v === null ? 'null' : String(v)]), color: output.color }));
      }
      const histories = Object.entries(details.history);
      if (histories.length > 0) {
        lines.push('', output.style('bold', 'Metrics'));
        lines.push(
          await renderTable({
            head: ['metric', 'last', 'min', 'max', 'steps', 'history'],
            rows: histories.map(([key, points]) => {
              const values = points.map((p) => p.value);
              const finite = values.filter(Number.isFinite);
              return [
                key,
                formatNumber(values.at(-1)),
                finite.length === 0 ? '' : formatNumber(Math.min(...finite)),
                finite.length === 0 ? '' : formatNumber(Math.max(...finite)),
                points.length,
                sparkline(values, 40),
              ];
            }),
            alignRight: [1, 2, 3, 4],
            color: output.color,
          }),
        );
      }
      const tags = Object.entries(run.tags);
      if (tags.length > 0) {
        lines.push('', output.style('bold', 'Tags'));
        for (const [k, v] of tags) lines.push(`  ${k} = ${v}`);
      }
      lines.push('', output.style('bold', 'Artifacts'));
      if (details.artifacts.length === 0) lines.push('  (none)');
      else {
        lines.push(
          await renderTable({
            head: ['path', 'size'],
            rows: details.artifacts.map((a) => [a.path, formatBytes(a.size)]),
            alignRight: [1],
            color: output.color,
          }),
        );
      }
      output.result(null, () => lines.join('\n'));
    });
  withExamples(show, 'mlctl runs show 01a22e7dae891172f41a', 'mlctl runs show fair-bison-54', 'mlctl runs show 01a22e --json');

  const compare = runs
    .command('compare')
    .description('Params and final metrics of several runs side by side; rows that differ are marked with *.')
    .argument('<runs...>', 'two or more runs: ids, id prefixes or names')
    .option('--diff-only', 'only rows that differ')
    .action(async (ids: string[], opts: { diffOnly?: boolean }, command: Command) => {
      const output = context.output(command);
      const { compareRuns } = await import('../core/tracking/run-operations.js');
      const comparison = await compareRuns(await openStore(context), ids);
      const differ = new Set([...comparison.differentParams.map((k) => `params.${k}`), ...comparison.differentMetrics.map((k) => `metrics.${k}`)]);
      const rows: (string | number)[][] = [];
      const cell = (v: unknown): string => (v === undefined || v === null ? '—' : typeof v === 'number' ? formatNumber(v) : String(v));
      for (const [kind, record] of [['params', comparison.params], ['metrics', comparison.metrics]] as const) {
        for (const [key, values] of Object.entries(record)) {
          const label = `${kind}.${key}`;
          if (opts.diffOnly === true && !differ.has(label)) continue;
          const mark = differ.has(label) ? '*' : '';
          rows.push([mark, differ.has(label) ? output.style('yellow', label) : label, ...values.map(cell)]);
        }
      }
      const table = output.json
        ? ''
        : await renderTable({
            head: ['', 'field', ...comparison.runs.map((r) => `${r.id.slice(0, 12)}\n${r.name}`)],
            rows,
            color: output.color,
          });
      output.result(comparison, () => `${table}\n${differ.size} of ${Object.keys(comparison.params).length + Object.keys(comparison.metrics).length} rows differ (*).`);
    });
  withExamples(compare, 'mlctl runs compare 01a2b3c4d5e6 01a2b3c4d5f7', 'mlctl runs compare 01a2b3c4d5e6 01a2b3c4d5f7 01a2b3c4d608 --diff-only');

  const tag = runs
    .command('tag')
    .description('Set tags on a run (finished or not); --remove deletes tags.')
    .argument('<run>', 'a run id (or 6 or more of its first characters) or a run name, e.g. fair-bison-54')
    .argument('[key=value...]', 'tags to set')
    .option('--remove <key...>', 'tag keys to delete')
    .action(async (id: string, pairs: string[], opts: { remove?: string[] }, command: Command) => {
      const output = context.output(command);
      const tags: Record<string, string> = {};
      pairs.forEach((pair, i) => {
        const eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new UsageError('INVALID_TAG', `tag ${i + 1} ("${pair}") is not key=value`, { hint: 'e.g. `mlctl runs tag fair-bison-54 stage=candidate owner=ana`' });
        }
        tags[pair.slice(0, eq)] = pair.slice(eq + 1);
      });
      if (pairs.length === 0 && (opts.remove ?? []).length === 0) {
        throw new UsageError('NO_TAGS', 'give at least one key=value tag or --remove <key>');
      }
      const store = await openStore(context);
      const { run, tags: result } = await store.setTags(id, tags, opts.remove ?? []);
      output.result({ id: run.id, tags: result }, () => `Tags of ${run.id}:\n${Object.entries(result).map(([k, v]) => `  ${k} = ${v}`).join('\n') || '  (none)'}`);
    });
  withExamples(tag, 'mlctl runs tag 01a2b3c4d5e6 stage=candidate reviewer=ana', 'mlctl runs tag 01a2b3c4d5e6 --remove stage');

  const note = runs
    .command('note')
    .description('Set the note of a run that has ended (an empty text clears it).')
    .argument('<run>', 'a run id (or 6 or more of its first characters) or a run name, e.g. fair-bison-54')
    .argument('<text>', 'the note')
    .action(async (id: string, text: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const store = await openStore(context);
      const location = await store.setNote(id, text === '' ? null : text);
      output.result({ id: location.id, note: text === '' ? null : text }, () => `Note of ${location.id} ${text === '' ? 'cleared' : 'set'}.`);
    });
  withExamples(note, 'mlctl runs note 01a2b3c4d5e6 "baseline for the Q3 report"', 'mlctl runs note 01a2b3c4d5e6 ""');

  for (const action of ['delete', 'restore'] as const) {
    const sub = runs
      .command(action)
      .description(action === 'delete' ? 'Soft-delete runs: hidden from lists until `runs gc` purges them; `runs restore` undoes it.' : 'Restore soft-deleted runs.')
      .argument('<runs...>', 'run ids, id prefixes or names')
      .action(async (ids: string[], _opts: unknown, command: Command) => {
        const output = context.output(command);
        const store = await openStore(context);
        const done: { id: string; experiment: string }[] = [];
        for (const id of ids) {
          const location = action === 'delete' ? await store.deleteRun(id) : await store.restoreRun(id);
          done.push({ id: location.id, experiment: location.experiment });
        }
        output.result({ [action === 'delete' ? 'deleted' : 'restored']: done }, () => done.map((d) => `${action === 'delete' ? 'Deleted' : 'Restored'} ${d.id} (${d.experiment})`).join('\n'));
      });
    withExamples(sub, `mlctl runs ${action} 01a2b3c4d5e6`, `mlctl runs ${action} 01a2b3c4d5e6 01a2b3c4d5f7`);
  }

  const gc = runs
    .command('gc')
    .description(
      'Purge soft-deleted runs from disk for good (runs used by a registered model version are kept), and remove the temporary files and folders ' +
        'that interrupted writes left behind (a kill during training, a bundle save or `sync pull`); files still being written are left alone. ' +
        'Like `git gc`, it acts at once: look first with --dry-run.',
    )
    .option('--dry-run', 'only say what would be purged and removed')
    .action(async (opts: { dryRun?: boolean }, command: Command) => {
      const output = context.output(command);
      const store = await openStore(context);
      const result = await store.gc({ dryRun: opts.dryRun === true });
      output.result(result, () => {
        const lines = result.purged.map((r) => `${result.dryRun ? 'Would purge' : 'Purged'} ${r.id} (${r.experiment})`);
        for (const k of result.kept) lines.push(`Kept ${k.id}: ${k.reason}`);
        for (const l of result.leftovers) lines.push(`${result.dryRun ? 'Would remove' : 'Removed'} ${l.path} (temporary ${l.kind} of an interrupted ${l.origin}, ${formatBytes(l.bytes)})`);
        for (const l of result.inUse) lines.push(`Left ${l.path}: still being written`);
        if (lines.length === 0) lines.push('No deleted runs to purge and no leftovers of interrupted writes.');
        return lines.join('\n');
      });
    });
  withExamples(gc, 'mlctl runs gc --dry-run', 'mlctl runs gc');

  const exportCommand = runs
    .command('export')
    .description('Export runs (params, final metrics, tags, attributes) as CSV or JSON.')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('-e, --experiment <name>', 'only runs of this experiment')
    .option('-f, --filter <expr>', 'the same filter language as `runs list`')
    .option('--order-by <terms>', 'e.g. "metrics.auc desc"')
    .option('--output <file>', 'write to this file (atomically) instead of stdout')
    .option('--all', 'include deleted runs')
    .option('--deleted', 'only deleted runs')
    .action(async (opts: { format: 'csv' | 'json'; experiment?: string; filter?: string; orderBy?: string; output?: string; all?: boolean; deleted?: boolean }, command: Command) => {
      const output = context.output(command);
      const options: RunsExportOptions = {
        format: opts.format,
        ...(opts.experiment === undefined ? {} : { experiment: opts.experiment }),
        ...(opts.filter === undefined ? {} : { filter: opts.filter }),
        ...(opts.orderBy === undefined ? {} : { orderBy: opts.orderBy }),
        ...(opts.output === undefined ? {} : { output: opts.output }),
        lifecycle: lifecycleOf(opts),
      };
      if (output.json && options.format === 'csv' && options.output === undefined) {
        throw new UsageError('CONFLICTING_FLAGS', '--json prints one JSON document; it cannot carry --format csv on stdout', { hint: 'use --format json, or --output <file> for CSV' });
      }
      const { listRuns, exportRuns } = await import('../core/tracking/run-operations.js');
      const result = await listRuns(await openStore(context), { ...options, limit: 0 });
      const text = exportRuns(result.runs, options.format);
      if (options.output === undefined) {
        context.streams.stdout.write(text);
        return;
      }
      const { writeFileAtomic } = await import('../core/fs/atomic.js');
      const { resolve } = await import('node:path');
      const path = resolve(context.config.cwd, options.output);
      await writeFileAtomic(path, text);
      output.result({ file: path, format: options.format, runs: result.runs.length }, () => `Wrote ${result.runs.length} runs to ${path}`);
    });
  withExamples(exportCommand, 'mlctl runs export --format csv > runs.csv', 'mlctl runs export --format json --experiment income --filter "status = \'FINISHED\'" --output runs.json');

  const verify = runs
    .command('verify')
    .description(
      'Check every run file and artifact hash, list damage and leftover temporary files of interrupted writes, rebuild the index; exit 4 when damaged ' +
        '(a leftover inside a model bundle is damage: the bundle fails to load until `runs gc` removes it).',
    )
    .action(async (_opts: unknown, command: Command) => {
      const output = context.output(command);
      const { GateError } = await import('../core/errors.js');
      const store = await openStore(context);
      const progress = await output.progress('Verifying runs…');
      let report;
      try {
        report = await store.verify({ onRun: (n) => progress.update(`Verifying runs… ${n}`) });
      } finally {
        progress.stop();
      }
      const summary = `${report.runs} runs, ${report.metricFiles} metric histories, ${report.bundles} bundles (${report.artifactFiles} files) checked${store.backend === 'files' ? '; index rebuilt' : ''}`;
      const describe = (p: { path: string; problem: string }): string => `${p.path}: ${p.problem}`;
      if (report.damage.length > 0) {
        // With --json the error document (printed by the CLI edge) carries the damage list.
        if (!output.json) {
          output.result(null, () => [summary, ...report.warnings.map((w) => `warning: ${describe(w)}`)].join('\n'));
        }
        const strays = report.leftovers.some((leftover) => leftover.inBundle);
        throw new GateError('STORE_DAMAGED', `${report.damage.length} damaged file(s) in ${report.root}`, {
          problems: report.damage.map(describe),
          hint: `${strays ? '`mlctl runs gc` removes leftover temporary files; ' : ''}restore the damaged files from a copy (git, sync pull) or delete the affected runs`,
        });
      }
      output.result(report, () => [`${summary}. No damage.`, ...report.warnings.map((w) => `warning: ${describe(w)}`)].join('\n'));
    });
  withExamples(verify, 'mlctl runs verify', 'mlctl runs verify --json');

  const experiments = runs
    .command('experiments')
    .description('List experiments with their run counts.')
    .action(async (_opts: unknown, command: Command) => {
      const output = context.output(command);
      const { listRuns } = await import('../core/tracking/run-operations.js');
      const result = await listRuns(await openStore(context), { lifecycle: 'active', limit: 0 });
      const counts = new Map<string, { runs: number; running: number; last: string }>();
      for (const run of result.runs) {
        const entry = counts.get(run.info.experiment) ?? { runs: 0, running: 0, last: '' };
        entry.runs += 1;
        if (run.info.status === 'RUNNING') entry.running += 1;
        if (run.info.startTime > entry.last) entry.last = run.info.startTime;
        counts.set(run.info.experiment, entry);
      }
      const rows = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, c]) => ({ name, runs: c.runs, running: c.running, lastRun: c.last }));
      const table = output.json ? '' : await renderTable({ head: ['experiment', 'runs', 'running', 'last run'], rows: rows.map((r) => [r.name, r.runs, r.running, formatTime(r.lastRun)]), alignRight: [1, 2], color: output.color });
      output.result({ experiments: rows }, () => (rows.length === 0 ? 'No experiments yet.' : table));
    });
  withExamples(experiments, 'mlctl runs experiments', 'mlctl runs experiments --json');
}
