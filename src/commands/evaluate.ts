import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, withExamples } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { formatNumber, renderTable } from '../ui/table.js';
import type { BoundCheck, RegressionCheck } from '../core/report/metric-gates.js';
import type { ModelEvaluation } from '../core/training/evaluate-model.js';

type MarkdownTable = typeof import('../core/report/markdown.js').markdownTable;

export type EvaluateFormat = 'table' | 'md' | 'json';

export interface EvaluateCommandOptions {
  readonly model: string;
  readonly data?: string;
  readonly threshold?: number;
  readonly backend?: string;
  /** `--fail-under accuracy=0.85,auc=0.9`, as written. */
  readonly failUnder?: string;
  /** The champion to compare against (`income@production`). */
  readonly compareTo?: string;
  /** `--max-regression auc=0.005`, as written. */
  readonly maxRegression?: string;
  readonly format: EvaluateFormat;
}

/** The --json document; `gates` and `comparison` appear only when asked for. */
export interface EvaluateResult {
  readonly model: Record<string, unknown>;
  readonly data: string;
  readonly rows: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly confusion?: unknown;
  readonly threshold?: number;
  readonly gates?: readonly BoundCheck[];
  readonly comparison?: { readonly champion: Record<string, unknown>; readonly metrics: readonly RegressionCheck[] };
  /** false when any gate or regression check failed. */
  readonly passed?: boolean;
}

export function registerEvaluateCommands(program: Command, context: CliContext): void {
  const command = program
    .command('evaluate')
    .description("evaluate a model bundle on labelled rows (its task's test set, or any labelled CSV); gate CI on the result")
    .argument('<model-ref>', 'a run id or name, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix')
    .option('--data <csv>', 'a labelled CSV (header row, or the dataset’s own format) instead of the test set')
    .option('--threshold <p>', 'classification threshold', parseFloatFlag('--threshold'))
    .option(
      '--fail-under <metric=value,...>',
      'exit 4 unless every metric is at least this good: >= for accuracy, auc, f1, r2…; <= for log_loss, rmse, mae',
    )
    .option('--compare-to <model-ref>', 'evaluate this champion on the same rows and compare; exit 4 when the candidate regresses')
    .option(
      '--max-regression <metric=tolerance,...>',
      "how much worse than the champion each metric may be (default: the task's gate metrics, tolerance 0)",
    )
    .addOption(new Option('--format <format>', 'table, md (Markdown, for a pull-request comment) or json (same as --json)').choices(['table', 'md', 'json']).default('table'))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['node', 'wasm', 'cpu']));
  withExamples(
    command,
    'mlctl evaluate fair-bison-54',
    'mlctl evaluate income@production --data new-census.csv --json',
    'mlctl evaluate income/2 --fail-under accuracy=0.85,auc=0.9',
    'mlctl evaluate income/2 --compare-to income@production --max-regression auc=0.005 --format md > comment.md',
  );
  command.action(async (modelRef: string, flags: Record<string, unknown>, cmd: Command) => {
    const options: EvaluateCommandOptions = {
      model: modelRef,
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.threshold === 'number' ? { threshold: flags.threshold } : {}),
      ...(typeof flags.backend === 'string' ? { backend: flags.backend } : context.config.tfBackend === undefined ? {} : { backend: context.config.tfBackend }),
      ...(typeof flags.failUnder === 'string' ? { failUnder: flags.failUnder } : {}),
      ...(typeof flags.compareTo === 'string' ? { compareTo: flags.compareTo } : {}),
      ...(typeof flags.maxRegression === 'string' ? { maxRegression: flags.maxRegression } : {}),
      format: (flags.format as EvaluateFormat | undefined) ?? 'table',
    };
    await runEvaluate(options, context, context.output(cmd));
  });
}

async function runEvaluate(options: EvaluateCommandOptions, context: CliContext, output: Output): Promise<void> {
  const [{ UsageError, GateError }, gates] = await Promise.all([import('../core/errors.js'), import('../core/report/metric-gates.js')]);
  // Flags are checked before any model is loaded: a typo fails fast, with every problem named.
  const bounds = options.failUnder === undefined ? undefined : gates.parseMetricBounds('--fail-under', options.failUnder);
  const tolerances = options.maxRegression === undefined ? undefined : gates.parseMetricBounds('--max-regression', options.maxRegression);
  if (tolerances !== undefined && options.compareTo === undefined) {
    throw new UsageError('EVALUATE_NO_CHAMPION', '--max-regression needs --compare-to <model-ref>: a regression is measured against a champion');
  }
  if (tolerances !== undefined) {
    const negative = Object.entries(tolerances).filter(([, v]) => v < 0);
    if (negative.length > 0) throw new UsageError('GATE_SPEC_INVALID', '--max-regression tolerances must not be negative', { problems: negative.map(([k, v]) => `${k}=${v}`) });
  }

  const candidate = await evaluateRef(options.model, options, context, output);
  const result: { -readonly [K in keyof EvaluateResult]: EvaluateResult[K] } = {
    model: candidate.model,
    data: candidate.evaluation.source,
    rows: candidate.evaluation.rows,
    metrics: candidate.evaluation.metrics,
    ...(candidate.evaluation.confusion === undefined ? {} : { confusion: candidate.evaluation.confusion, threshold: candidate.evaluation.threshold }),
  };
  const known = Object.keys(candidate.evaluation.metrics);
  const unknown = [...Object.keys(bounds ?? {}), ...Object.keys(tolerances ?? {})].filter((m) => !known.includes(m));
  if (unknown.length > 0) {
    throw new UsageError('GATE_METRIC_UNKNOWN', `this ${candidate.problemType} model has no metric ${[...new Set(unknown)].map((m) => `"${m}"`).join(', ')}`, {
      hint: `its metrics are ${known.join(', ')}`,
    });
  }

  const failures: string[] = [];
  if (bounds !== undefined) {
    result.gates = gates.checkBounds(bounds, candidate.evaluation.metrics);
    for (const check of result.gates) if (!check.passed) failures.push(gates.describeBoundFailure(check));
  }
  if (options.compareTo !== undefined) {
    const champion = await evaluateRef(options.compareTo, options, context, output);
    if (champion.problemType !== candidate.problemType) {
      throw new UsageError('EVALUATE_CHAMPION_MISMATCH', `the champion ${options.compareTo} is a ${champion.problemType} model, the candidate a ${candidate.problemType} one`);
    }
    if (!sameRows(candidate.evaluation, champion.evaluation)) {
      throw new UsageError('EVALUATE_ROWS_DIFFER', `the champion ${options.compareTo} was evaluated on other rows (${champion.evaluation.source}, ${champion.evaluation.rows} rows) than the candidate (${candidate.evaluation.source}, ${candidate.evaluation.rows} rows)`, {
        hint: 'pass --data <csv> to evaluate both on the same labelled file',
      });
    }
    const effective = tolerances ?? Object.fromEntries(champion.gateMetrics.filter((m) => known.includes(m)).map((m) => [m, 0]));
    const metrics = gates.checkRegressions(candidate.evaluation.metrics, champion.evaluation.metrics, effective);
    result.comparison = { champion: { ...champion.model, metrics: champion.evaluation.metrics }, metrics };
    for (const check of metrics) if (!check.passed) failures.push(gates.describeRegressionFailure(check));
  }
  if (bounds !== undefined || options.compareTo !== undefined) result.passed = failures.length === 0;

  const gateError = (): InstanceType<typeof GateError> =>
    new GateError('EVALUATE_GATE_FAILED', `${failures.length} metric check${failures.length === 1 ? '' : 's'} failed for ${options.model}`, {
      problems: failures,
      hint: options.compareTo === undefined ? undefined : `compared with ${options.compareTo} on ${candidate.evaluation.source}`,
    });

  if (output.json || options.format === 'json') {
    // Exactly one JSON document on stdout. With --json a failure's document is the error
    // (every failing metric in "problems"); with --format json it is the result, passed: false,
    // and the error goes to stderr only.
    if (failures.length > 0 && output.json) throw gateError();
    context.streams.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else if (options.format === 'md') {
    const { markdownTable } = await import('../core/report/markdown.js');
    output.print(renderMarkdown(result, options, markdownTable));
  } else {
    output.print(await renderHuman(result, candidate.task, options, output));
  }
  if (failures.length > 0) throw gateError();
}

interface EvaluatedRef {
  readonly model: Record<string, unknown>;
  readonly task: string;
  readonly problemType: string;
  readonly gateMetrics: readonly string[];
  readonly evaluation: ModelEvaluation;
}

async function evaluateRef(ref: string, options: EvaluateCommandOptions, context: CliContext, output: Output): Promise<EvaluatedRef> {
  const [{ resolveModel, createUnseenReporter }, { loadPredictor }, { evaluateModel }, { resolveDataLocation, datasetStoreOptions }] = await Promise.all([
    import('./shared/model-resolution.js'),
    import('../core/predict/predictor.js'),
    import('../core/training/evaluate-model.js'),
    import('./shared/data-location.js'),
  ]);
  const resolved = await resolveModel(ref, context);
  const predictor = await loadPredictor(resolved.bundleDir, options.backend === undefined ? {} : { backend: options.backend });
  try {
    const location = await resolveDataLocation(options.data, context);
    const unseen = createUnseenReporter((m) => output.debug(m));
    const evaluation = await evaluateModel(predictor, {
      ...(location.dataPath === undefined ? {} : { dataPath: location.dataPath }),
      data: datasetStoreOptions(context),
      ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
      onUnseen: unseen.onUnseen,
    });
    const task = predictor.manifest.task;
    return {
      model: { ref, bundleDir: resolved.bundleDir, ...resolved.source, task: task.name },
      task: task.name,
      problemType: predictor.manifest.problemType,
      gateMetrics: task.gates.map((g) => g.metric),
      evaluation,
    };
  } finally {
    predictor.dispose();
  }
}

/** Same labels in the same order: the cheap, sufficient check that both saw the same rows. */
function sameRows(a: ModelEvaluation, b: ModelEvaluation): boolean {
  if (a.rows !== b.rows || a.yTrue.length !== b.yTrue.length) return false;
  for (let i = 0; i < a.yTrue.length; i++) if (a.yTrue[i] !== b.yTrue[i]) return false;
  return true;
}

function fmt(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : formatNumber(value, 4);
}

function signed(value: number | null): string {
  if (value === null) return '—';
  return `${value > 0 ? '+' : value < 0 ? '−' : '±'}${formatNumber(Math.abs(value), 4)}`;
}

function boundText(check: BoundCheck): string {
  return `${check.direction === 'higher' ? '≥' : '≤'} ${check.bound}`;
}

/** Rows of the one metrics table every format shares. */
function tableRows(result: EvaluateResult): { head: string[]; rows: string[][]; alignRight: number[] } {
  const head = ['metric', 'value'];
  const hasGates = result.gates !== undefined;
  const comparison = result.comparison;
  if (hasGates) head.push('required');
  if (comparison !== undefined) head.push('champion', 'change', 'tolerance');
  if (hasGates || comparison !== undefined) head.push('status');
  const rows = Object.entries(result.metrics).map(([metric, value]) => {
    const row = [metric, fmt(value)];
    const gate = result.gates?.find((g) => g.metric === metric);
    const regression = comparison?.metrics.find((m) => m.metric === metric);
    if (hasGates) row.push(gate === undefined ? '' : boundText(gate));
    if (comparison !== undefined) row.push(fmt(regression?.champion), signed(regression?.change ?? null), regression?.tolerance === null || regression === undefined ? '' : String(regression.tolerance));
    if (hasGates || comparison !== undefined) {
      const checked = gate !== undefined || (regression !== undefined && regression.tolerance !== null);
      const passed = (gate?.passed ?? true) && (regression?.passed ?? true);
      row.push(!checked ? '' : passed ? 'pass' : 'FAIL');
    }
    return row;
  });
  return { head, rows, alignRight: head.map((h, i) => (['value', 'champion', 'change', 'tolerance'].includes(h) ? i : -1)).filter((i) => i >= 0) };
}

async function renderHuman(result: EvaluateResult, task: string, options: EvaluateCommandOptions, output: Output): Promise<string> {
  const lines = [`${task} model ${options.model} on ${result.data} (${result.rows.toLocaleString('en-US')} rows)`];
  if (options.compareTo !== undefined) lines.push(`compared with ${options.compareTo} on the same rows`);
  lines.push('');
  const t = tableRows(result);
  lines.push(await renderTable({ head: t.head, rows: t.rows, alignRight: t.alignRight, color: output.color }));
  const c = result.confusion as { tp: number; fp: number; tn: number; fn: number } | undefined;
  if (c !== undefined) {
    lines.push(
      '',
      await renderTable({
        head: [`confusion @ ${result.threshold}`, 'predicted −', 'predicted +'],
        rows: [
          ['actual −', c.tn, c.fp],
          ['actual +', c.fn, c.tp],
        ],
        alignRight: [1, 2],
        color: output.color,
      }),
    );
  }
  if (result.passed !== undefined) lines.push('', result.passed ? output.style('green', 'all metric checks passed') : output.style('red', 'metric checks failed'));
  return lines.join('\n');
}

function renderMarkdown(result: EvaluateResult, options: EvaluateCommandOptions, markdownTable: MarkdownTable): string {
  const t = tableRows(result);
  const verdict = result.passed === undefined ? '' : result.passed ? ' ✅ passed' : ' ❌ failed';
  const title = `### mlctl evaluate: \`${options.model}\`${verdict}`;
  const context = `${result.rows.toLocaleString('en-US')} rows of ${result.data}${options.compareTo === undefined ? '' : `, compared with \`${options.compareTo}\``}`;
  return [title, '', context, '', markdownTable(t.head, t.rows, t.alignRight), ''].join('\n');
}
