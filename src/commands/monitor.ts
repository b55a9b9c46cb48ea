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

/** The --json document. */
export interface MonitorDriftJson extends Omit<DriftResult, 'source'> {
  readonly model: { readonly ref: string; readonly bundleDir: string; readonly task: string; readonly runId: string | null };
  readonly data: string;
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
    .description('compare new data with the training profile kept in the model bundle: PSI per input (and Jensen–Shannon distance for categoricals), the share of drifted inputs and the drift of the model’s output')
    .argument('<model-ref>', 'run id, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix')
    .option('--data <csv>', 'a CSV of model inputs (header row, or the dataset’s own format); a target column is ignored')
    .option('--psi-threshold <value|input=value,...>', 'PSI above which an input counts as drifted: a default, per-input values, or both (default 0.2, or the task’s monitoring.psiThreshold)')
    .option('--js-threshold <value|input=value,...>', 'Jensen–Shannon distance (0…1) above which a categorical input counts as drifted too (default: none; it is reported either way)')
    .option('--output-threshold <psi>', 'PSI above which the output distribution counts as drifted (default: the PSI threshold)', parseFloatFlag('--output-threshold', { min: 0, minExclusive: true, max: 100 }))
    .option('--min-rows <n>', 'refuse data with fewer rows: PSI on small samples is mostly noise (default 100)', parseIntFlag('--min-rows', { min: 1 }))
    .option('--output-rows <n|all>', 'score at most n rows, a seeded random sample, for the output distribution (default 20000; every input is counted on every row)', parseOutputRows)
    .option('--fail-over <share>', 'exit 4 when the share of drifted inputs exceeds this, 0…1 (0: any drifted input fails)', parseFloatFlag('--fail-over', { min: 0, max: 1 }))
    .option('--html <file>', 'also write a self-contained HTML page: reference and current distributions side by side per input')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend, for a model the lean scorer cannot run').choices(['node', 'wasm', 'cpu']));
  withExamples(
    drift,
    'mlctl monitor drift income@production --data this-week.csv',
    'mlctl monitor drift income@production --data this-week.csv --fail-over 0.2 --json > drift.json',
    'mlctl monitor drift income@production --data new.csv --psi-threshold 0.25,fnlwgt=0.5 --html drift.html',
  );
  drift.addHelpText(
    'after',
    'Exit codes: 0 compared (drift or not, unless --fail-over says otherwise); 2 bad input: no profile in\nthe bundle, a CSV missing an input, fewer rows than --min-rows (nothing is written); 3 no rows;\n4 more inputs drifted than --fail-over allows.\n',
  );
  drift.action(async (modelRef: string, flags: Record<string, unknown>, cmd: Command) => {
    const backend = typeof flags.backend === 'string' ? flags.backend : context.config.tfBackend;
    const options: MonitorDriftOptions = {
      model: modelRef,
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
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

async function runDrift(options: MonitorDriftOptions, context: CliContext, output: Output): Promise<void> {
  const [{ UsageError, GateError }, thresholds] = await Promise.all([import('../core/errors.js'), import('../core/monitoring/drift-thresholds.js')]);
  // Flags are checked before any model or data is read: a typo fails fast, every problem named.
  if (options.data === undefined) {
    throw new UsageError('DRIFT_NO_SOURCE', 'name the current data: --data <csv>', { hint: 'mlctl monitor drift <model-ref> --data new.csv' });
  }
  const flags = {
    ...(options.psiThreshold === undefined ? {} : { psi: thresholds.parseThresholdFlag('--psi-threshold', 'psi', options.psiThreshold) }),
    ...(options.jsThreshold === undefined ? {} : { js: thresholds.parseThresholdFlag('--js-threshold', 'js', options.jsThreshold) }),
    ...(options.outputThreshold === undefined ? {} : { output: options.outputThreshold }),
  };

  const [{ resolveModel }, { loadModel }, { driftFromCsv }, { resolveDataLocation }, { resolve }] = await Promise.all([
    import('./shared/model-resolution.js'),
    import('../core/bundle/load-model.js'),
    import('../core/monitoring/monitor-drift.js'),
    import('./shared/data-location.js'),
    import('node:path'),
  ]);
  const resolved = await resolveModel(options.model, context);
  const model = await loadModel(resolved.bundleDir, options.backend === undefined ? {} : { backend: options.backend });
  let result: DriftResult;
  const progress = await output.progress(`reading ${options.data}`);
  try {
    const location = await resolveDataLocation(options.data, context);
    result = await driftFromCsv({
      model,
      dataPath: location.dataPath!,
      ...(options.minRows === undefined ? {} : { minRows: options.minRows }),
      ...(options.outputRows === undefined ? {} : { outputRows: options.outputRows }),
      thresholds: flags,
      onPhase: (phase) => progress.update(phase === 'read' ? `reading ${options.data}` : phase === 'bin' ? 'binning against the profile' : phase === 'score' ? 'scoring for the output distribution' : 'comparing'),
    });
    progress.stop();
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    model.dispose();
  }

  const task = model.manifest.task.name;
  const passed = options.failOver === undefined || result.driftedShare <= options.failOver;
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
        source: options.data,
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
    data: options.data,
    ...measured,
    failOver: options.failOver ?? null,
    passed,
    html,
  };
  if (!passed && output.json) {
    // One JSON document: the error, with the whole report in its details for the cron job.
    throw driftGateError(GateError, document);
  }
  const human = output.json ? '' : await renderHuman(document, output);
  output.result(document, () => human);
  if (!passed) throw driftGateError(GateError, document);
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

async function renderHuman(document: MonitorDriftJson, output: Output): Promise<string> {
  const { textHistogram } = await import('../core/report/text-histogram.js');
  const lines = [
    `${document.model.task} model ${document.model.ref} · ${document.data} (${document.rows.toLocaleString('en-US')} rows) against the training profile (${document.referenceRows.toLocaleString('en-US')} rows)`,
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
