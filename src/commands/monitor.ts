import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { renderTable } from '../ui/table.js';
import type { FeatureDrift } from '../core/monitoring/compare-drift.js';
import type { DriftResult } from '../core/monitoring/monitor-drift.js';

export interface MonitorDriftOptions {
  readonly model: string;
  readonly data?: string;
  /** `--since 24h`: the histograms serve stored over that long, up to now. */
  readonly since?: string;
  /** `--window <from>..<to>`: the histograms serve stored in that period. */
  readonly window?: string;
  /** `--psi-threshold 0.25,age=0.3`, as written. */
  readonly psiThreshold?: string;
  /** `--js-threshold 0.15,workclass=0.2`, as written. */
  readonly jsThreshold?: string;
  readonly outputThreshold?: number;
  readonly minRows?: number;
  /** Rows scored for the output distribution (a seeded sample when there are more); Infinity: all. */
  readonly outputRows?: number;
  /** Exit 4 when the share of drifted inputs exceeds this (0…1). */
  readonly failOver?: number;
  /** Where to write the HTML page. */
  readonly html?: string;
  readonly backend?: string;
}

/** With --since or --window: what was read from the database. */
export interface StoredHistogramsJson {
  /** The name and version serve stored the model's histograms under. */
  readonly model: string;
  readonly version: string;
  /** The period asked for: windows starting in [from, to). */
  readonly from: string;
  readonly to: string;
  /** Windows holding records, and the span they cover. */
  readonly windows: number;
  readonly first: string;
  readonly last: string;
  readonly database: string;
}

/** The --json document. */
export interface MonitorDriftJson extends Omit<DriftResult, 'source'> {
  readonly model: { readonly ref: string; readonly bundleDir: string; readonly task: string; readonly runId: string | null };
  /** The CSV compared (--data); null with --since / --window. */
  readonly data: string | null;
  /** The served records compared (--since / --window); null with --data. */
  readonly histograms: StoredHistogramsJson | null;
  readonly failOver: number | null;
  /** false when the share of drifted inputs exceeds --fail-over. */
  readonly passed: boolean;
  readonly html: string | null;
}

export function registerMonitorCommands(program: Command, context: CliContext): void {
  const monitor = program.command('monitor').description('watch a deployed model: drift of its inputs and output against its training profile');
  withExamples(monitor, 'mlctl monitor drift income@production --data this-week.csv');
  const drift = monitor
    .command('drift')
    .description('compare new data, or the records `serve` answered, with the training profile kept in the model bundle: PSI per input (and Jensen–Shannon distance for categoricals), the share of drifted inputs and the drift of the model’s output')
    .argument('<model-ref>', 'run id, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix')
    .option('--data <csv>', 'a CSV of model inputs (header row, or the dataset’s own format); a target column is ignored')
    .option('--since <duration>', 'the records serve answered over this long up to now (24h, 7d), from the drift histograms it stored in DATABASE_URL')
    .option('--window <from>..<to>', 'the records serve answered in a period: ISO dates or times, UTC unless an offset is given (2026-11-30..2026-12-01, 2026-11-30T08:00..); an open end is now')
    .option('--psi-threshold <value|input=value,...>', 'PSI above which an input counts as drifted: a default, per-input values, or both (default 0.2, or the task’s monitoring.psiThreshold)')
    .option('--js-threshold <value|input=value,...>', 'Jensen–Shannon distance (0…1) above which a categorical input counts as drifted too (default: none; it is reported either way)')
    .option('--output-threshold <psi>', 'PSI above which the output distribution counts as drifted (default: the PSI threshold)', parseFloatFlag('--output-threshold', { min: 0, minExclusive: true, max: 100 }))
    .option('--min-rows <n>', 'refuse data with fewer rows: PSI on small samples is mostly noise (default 100)', parseIntFlag('--min-rows', { min: 1 }))
    .option('--output-rows <n|all>', 'with --data: score at most n rows, a seeded random sample, for the output distribution (default 20000; every input is counted on every row)', parseOutputRows)
    .option('--fail-over <share>', 'exit 4 when the share of drifted inputs exceeds this, 0…1 (0: any drifted input fails)', parseFloatFlag('--fail-over', { min: 0, max: 1 }))
    .option('--html <file>', 'also write a self-contained HTML page: reference and current distributions side by side per input')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend, for a model the lean scorer cannot run').choices(['node', 'wasm', 'cpu']));
  withExamples(
    drift,
    'mlctl monitor drift income@production --data this-week.csv',
    'mlctl monitor drift income@production --data this-week.csv --fail-over 0.2 --json > drift.json',
    'mlctl monitor drift income@production --data new.csv --psi-threshold 0.25,fnlwgt=0.5 --html drift.html',
    'mlctl monitor drift income@production --since 24h',
    'mlctl monitor drift income@production --window 2026-11-30..2026-12-01 --fail-over 0.2 --json',
  );
  drift.addHelpText(
    'after',
    `
--since and --window read the histograms \`mlctl serve\` stored (counts per window, input and bin:
no record is kept) for the version the reference names now, under the name serve gives it
(income@production: income, its registry version; a run id: the task and the run).

Exit codes: 0 compared (drift or not, unless --fail-over says otherwise); 2 bad input: no profile in
the bundle, a CSV missing an input, fewer rows than --min-rows (nothing is written), a database
not migrated; 3 no rows (nothing stored in the period, or no database); 4 more inputs drifted
than --fail-over allows; 5 the database failed.
`,
  );
  drift.action(async (modelRef: string, flags: Record<string, unknown>, cmd: Command) => {
    const backend = typeof flags.backend === 'string' ? flags.backend : context.config.tfBackend;
    const options: MonitorDriftOptions = {
      model: modelRef,
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.since === 'string' ? { since: flags.since } : {}),
      ...(typeof flags.window === 'string' ? { window: flags.window } : {}),
      ...(typeof flags.psiThreshold === 'string' ? { psiThreshold: flags.psiThreshold } : {}),
      ...(typeof flags.jsThreshold === 'string' ? { jsThreshold: flags.jsThreshold } : {}),
      ...(typeof flags.outputThreshold === 'number' ? { outputThreshold: flags.outputThreshold } : {}),
      ...(typeof flags.minRows === 'number' ? { minRows: flags.minRows } : {}),
      ...(typeof flags.outputRows === 'number' ? { outputRows: flags.outputRows } : {}),
      ...(typeof flags.failOver === 'number' ? { failOver: flags.failOver } : {}),
      ...(typeof flags.html === 'string' ? { html: flags.html } : {}),
      ...(backend === undefined ? {} : { backend }),
    };
    await runDrift(options, context, context.output(cmd));
  });
}

/** The period --since or --window names, checked before anything is read. */
interface Period {
  readonly from: Date;
  readonly to: Date;
}

async function runDrift(options: MonitorDriftOptions, context: CliContext, output: Output): Promise<void> {
  const [{ UsageError, GateError }, thresholds] = await Promise.all([import('../core/errors.js'), import('../core/monitoring/drift-thresholds.js')]);
  // Flags are checked before any model or data is read: a typo fails fast, every problem named.
  const sources = [options.data === undefined ? [] : ['--data'], options.since === undefined ? [] : ['--since'], options.window === undefined ? [] : ['--window']].flat();
  if (sources.length === 0) {
    throw new UsageError('DRIFT_NO_SOURCE', 'name the current data: --data <csv>, or the records serve answered: --since <duration> or --window <from>..<to>', {
      hint: 'mlctl monitor drift <model-ref> --data new.csv, or --since 24h',
    });
  }
  if (sources.length > 1) throw new UsageError('DRIFT_SOURCES_CONFLICT', `${sources.join(' and ')} name two sources; give one`);
  if (options.data === undefined && options.outputRows !== undefined) {
    throw new UsageError('DRIFT_OUTPUT_ROWS_UNUSED', '--output-rows applies to --data only: stored histograms counted the output of every record served');
  }
  const period = options.data === undefined ? await parsePeriod(options, new Date()) : undefined;
  const flags = {
    ...(options.psiThreshold === undefined ? {} : { psi: thresholds.parseThresholdFlag('--psi-threshold', 'psi', options.psiThreshold) }),
    ...(options.jsThreshold === undefined ? {} : { js: thresholds.parseThresholdFlag('--js-threshold', 'js', options.jsThreshold) }),
    ...(options.outputThreshold === undefined ? {} : { output: options.outputThreshold }),
  };

  const [{ resolveModel }, { loadModel }, { resolve }] = await Promise.all([import('./shared/model-resolution.js'), import('../core/bundle/load-model.js'), import('node:path')]);
  const resolved = await resolveModel(options.model, context);
  const model = await loadModel(resolved.bundleDir, options.backend === undefined ? {} : { backend: options.backend });
  let result: DriftResult;
  let histograms: StoredHistogramsJson | null = null;
  const progress = await output.progress(options.data === undefined ? 'reading stored drift histograms' : `reading ${options.data}`);
  try {
    if (options.data !== undefined) {
      const [{ driftFromCsv }, { resolveDataLocation }] = await Promise.all([import('../core/monitoring/monitor-drift.js'), import('./shared/data-location.js')]);
      const location = await resolveDataLocation(options.data, context);
      result = await driftFromCsv({
        model,
        dataPath: location.dataPath!,
        ...(options.minRows === undefined ? {} : { minRows: options.minRows }),
        ...(options.outputRows === undefined ? {} : { outputRows: options.outputRows }),
        thresholds: flags,
        onPhase: (phase) => progress.update(phase === 'read' ? `reading ${options.data}` : phase === 'bin' ? 'binning against the profile' : phase === 'score' ? 'scoring for the output distribution' : 'comparing'),
      });
    } else {
      const stored = await storedDrift(options, context, model, resolved, period!, flags);
      result = stored.result;
      histograms = stored.histograms;
    }
    progress.stop();
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    model.dispose();
  }

  const task = model.manifest.task.name;
  const passed = options.failOver === undefined || result.driftedShare <= options.failOver;
  const source = options.data ?? describeStored(histograms!);
  let html: string | null = null;
  if (options.html !== undefined) {
    const [{ renderDriftReport }, { writeFileAtomic }] = await Promise.all([import('../core/report/render-drift-report.js'), import('../core/fs/atomic.js')]);
    html = resolve(context.config.cwd, options.html);
    await writeFileAtomic(
      html,
      renderDriftReport({
        comparison: result,
        modelRef: options.model,
        task,
        bundleDir: resolved.bundleDir,
        source,
        ...(options.failOver === undefined ? {} : { failOver: options.failOver }),
        generatedAt: new Date().toISOString(),
        mlctlVersion: context.version,
      }),
    );
    output.info(`drift report written to ${html}`);
  }
  const { source: _source, ...measured } = result;
  void _source;
  const document: MonitorDriftJson = {
    model: { ref: options.model, bundleDir: resolved.bundleDir, task, runId: resolved.source.runId ?? model.manifest.runId },
    data: options.data ?? null,
    histograms,
    ...measured,
    failOver: options.failOver ?? null,
    passed,
    html,
  };
  if (!passed && output.json) {
    // One JSON document: the error, with the whole report in its details for the cron job.
    throw driftGateError(GateError, document);
  }
  const human = output.json ? '' : await renderHuman(document, source, output);
  output.result(document, () => human);
  if (!passed) throw driftGateError(GateError, document);
}

/**
 * The stored histograms of the served version between `period.from` and `period.to`,
 * compared. The database is DATABASE_URL, migrated; the version is named as serve names it.
 */
async function storedDrift(
  options: MonitorDriftOptions,
  context: CliContext,
  model: import('../core/bundle/load-model.js').LoadedModel,
  resolved: import('../core/tracking/model-reference.js').ResolvedModel,
  period: Period,
  thresholds: import('../core/monitoring/drift-thresholds.js').ThresholdFlags,
): Promise<{ result: DriftResult; histograms: StoredHistogramsJson }> {
  const [{ withDatabase }, { assertMigrated }, { MIGRATIONS }, { createSqlHistogramStore }, { driftFromStore }, { servedIdentity }] = await Promise.all([
    import('../core/db/create-database.js'),
    import('../core/db/migrator.js'),
    import('../core/db/migrations/index.js'),
    import('../core/monitoring/sql-histogram-store.js'),
    import('../core/monitoring/monitor-drift.js'),
    import('../core/serving/served-model.js'),
  ]);
  const { name, version } = servedIdentity(resolved.source, model.manifest, model.manifestSha256);
  return withDatabase(
    context.config.databaseUrl,
    context.config.cwd,
    async (database) => {
      await assertMigrated(database, MIGRATIONS);
      const { windows, first, last, ...result } = await driftFromStore({
        model,
        store: createSqlHistogramStore(database.db),
        name,
        version,
        from: period.from,
        to: period.to,
        storeName: `the database at ${database.target}`,
        ...(options.minRows === undefined ? {} : { minRows: options.minRows }),
        thresholds,
      });
      return {
        result,
        histograms: {
          model: name,
          version,
          from: period.from.toISOString(),
          to: period.to.toISOString(),
          windows,
          first: first.toISOString(),
          last: last.toISOString(),
          database: database.target,
        },
      };
    },
    { mustExist: true },
  );
}

/** `--since 24h` or `--window <from>..<to>` as a period ending no later than `now`. */
async function parsePeriod(options: MonitorDriftOptions, now: Date): Promise<Period> {
  const [{ UsageError }, { parseDuration }] = await Promise.all([import('../core/errors.js'), import('../core/text/durations.js')]);
  if (options.since !== undefined) {
    const ms = parseDuration(options.since);
    if (ms === undefined) throw new UsageError('DRIFT_SINCE_INVALID', `--since ${JSON.stringify(options.since)} is not a duration; use a number and a unit: 24h, 7d, 90m, 2w`);
    return { from: new Date(now.getTime() - ms), to: now };
  }
  const text = options.window!;
  const dots = text.indexOf('..');
  const problems: string[] = [];
  const from = dots < 0 ? undefined : parseInstant(text.slice(0, dots));
  const to = dots < 0 ? undefined : text.slice(dots + 2).trim() === '' ? now : parseInstant(text.slice(dots + 2));
  if (dots < 0) problems.push('expected <from>..<to>, e.g. 2026-11-30..2026-12-01');
  else {
    if (from === undefined) problems.push(`"${text.slice(0, dots)}" is not an ISO date or time`);
    if (to === undefined) problems.push(`"${text.slice(dots + 2)}" is not an ISO date or time`);
    if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) problems.push('the period must end after it starts');
  }
  if (problems.length > 0) throw new UsageError('DRIFT_WINDOW_INVALID', `--window ${JSON.stringify(text)} is not a period`, { problems, hint: 'e.g. --window 2026-11-30..2026-12-01, or --window 2026-11-30T08:00.. (until now)' });
  return { from: from!, to: to! };
}

/** An ISO date (2026-11-30) or date-time (2026-11-30T08:00, with seconds, a Z or an offset); UTC unless it says otherwise. */
function parseInstant(text: string): Date | undefined {
  const value = text.trim();
  const match = /^\d{4}-\d{2}-\d{2}(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value);
  if (match === null) return undefined;
  const zoned = match[1] === undefined ? `${value}T00:00:00Z` : match[2] === undefined ? `${value.replace(' ', 'T')}Z` : value.replace(' ', 'T');
  const time = Date.parse(zoned);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** How a human reads the stored source: the records, the version, the period. */
function describeStored(h: StoredHistogramsJson): string {
  const at = (iso: string): string => iso.replace('T', ' ').replace(/\.000Z$/, 'Z').replace(/:00Z$/, 'Z');
  return `records served by ${h.model} version ${h.version}, ${at(h.first)} to ${at(h.last)} in ${h.windows} window${h.windows === 1 ? '' : 's'}`;
}

/** `--output-rows`: a whole number ≥ 1, or "all". */
function parseOutputRows(value: string): number {
  if (value.trim().toLowerCase() === 'all') return Number.POSITIVE_INFINITY;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--output-rows must be a whole number ≥ 1 or "all", got "${value}"`);
  return n;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function driftGateError(GateError: typeof import('../core/errors.js').GateError, document: MonitorDriftJson): Error {
  const drifted = document.features.filter((f) => f.drifted);
  return new GateError('DRIFT_GATE_FAILED', `${drifted.length} of ${document.features.length} inputs drifted (${percent(document.driftedShare)}), more than --fail-over ${percent(document.failOver ?? 0)}`, {
    problems: drifted.map((f) => `${f.feature}: ${describeMeasures(f)}`),
    details: { report: document },
  });
}

function describeMeasures(f: FeatureDrift): string {
  const psi = `PSI ${f.psi.toFixed(4)}${f.exceeded.includes('psi') ? ` > ${f.threshold.psi}` : ''}`;
  const js = f.js === null ? '' : `, JS ${f.js.toFixed(4)}${f.exceeded.includes('js') ? ` > ${f.threshold.js}` : ''}`;
  return `${psi}${js}`;
}

function thresholdText(f: FeatureDrift): string {
  return f.threshold.js === null ? `PSI > ${f.threshold.psi}` : `PSI > ${f.threshold.psi} or JS > ${f.threshold.js}`;
}

async function renderHuman(document: MonitorDriftJson, source: string, output: Output): Promise<string> {
  const { textHistogram } = await import('../core/report/text-histogram.js');
  const lines = [
    `${document.model.task} model ${document.model.ref} · ${source} (${document.rows.toLocaleString('en-US')} rows) against the training profile (${document.referenceRows.toLocaleString('en-US')} rows)`,
    '',
  ];
  const status = (f: FeatureDrift): string => (f.drifted ? output.style('red', 'drifted') : '');
  lines.push(
    await renderTable({
      head: ['input', 'kind', 'PSI', 'JS', 'drifted when', 'status'],
      rows: document.features.map((f) => [f.feature, f.kind, f.psi.toFixed(4), f.js === null ? '' : f.js.toFixed(4), thresholdText(f), status(f)]),
      alignRight: [2, 3],
      color: output.color,
    }),
    '',
  );
  const o = document.output;
  const sample = document.outputSample === null ? '' : ` (a seeded sample of ${o.rows.toLocaleString('en-US')} rows)`;
  lines.push(`output ${o.feature}${sample}: ${describeMeasures(o)}: ${o.drifted ? output.style('red', 'drifted') : 'stable'}`);
  const verdict = `${document.drifted.length} of ${document.features.length} inputs drifted (${percent(document.driftedShare)})`;
  if (document.failOver === null) lines.push(verdict);
  else lines.push(document.passed ? output.style('green', `${verdict}, not over --fail-over ${percent(document.failOver)}`) : output.style('red', `${verdict}, over --fail-over ${percent(document.failOver)}`));
  for (const f of [...document.features.filter((x) => x.drifted), ...(o.drifted ? [o] : [])]) {
    lines.push('', `${output.style('bold', f.feature)} · ${describeMeasures(f)}`, ...textHistogram(f.bins));
  }
  if (document.html !== null) lines.push('', `html: ${document.html}`);
  return lines.join('\n');
}
