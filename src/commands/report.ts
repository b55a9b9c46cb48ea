import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { POSITIVE_COUNT_RANGE, SEED_RANGE, parseIntFlag, withExamples } from '../ui/context.js';
import type { ReportEvaluation } from '../core/report/collect-run-report.js';

export interface ReportCommandOptions {
  /** A run (id or name) or any model reference; absent with --compare. */
  readonly ref?: string;
  /** Run ids to compare (two or more). */
  readonly compare?: readonly string[];
  readonly out?: string;
  readonly data?: string;
  readonly backend?: string;
  readonly importance: boolean;
  readonly importanceRows?: number;
  readonly importanceSeed?: number;
  readonly slices?: readonly string[];
}

/** Where reports go without --out: a folder of the working directory the checkout's .gitignore lists. */
const REPORTS_DIR = 'reports';

function shortId(id: string): string {
  return id.slice(0, 12);
}

export function registerReportCommands(program: Command, context: CliContext): void {
  const command = program
    .command('report')
    .description('write a self-contained HTML report of a run or model (curves, fairness slices, feature importance), or compare runs')
    .argument('[ref]', 'a run id or name, runs:/<id>, name@alias, name/<version> or a bundle path')
    .option('--out <file>', `where to write the HTML (default: ${REPORTS_DIR}/report-<run-id>.html, under the current folder)`)
    .option('--compare <runs...>', 'compare two or more runs (ids or names): overlaid learning and ROC curves, a metrics table')
    .option('--data <csv>', "evaluate on this labelled CSV instead of the task's test rows")
    .option('--slices <columns>', 'columns for the fairness view, comma-separated (default: sex,race when the task has them)')
    .option('--no-importance', 'skip permutation feature importance (it scores the test rows once per input column)')
    .option('--importance-rows <n>', 'compute permutation importance on at most n test rows (seeded sample)', parseIntFlag('--importance-rows', POSITIVE_COUNT_RANGE))
    .option('--importance-seed <n>', "seed of the shuffles (default: the task's split seed)", parseIntFlag('--importance-seed', SEED_RANGE))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['node', 'wasm', 'cpu']));
  withExamples(
    command,
    'mlctl report fair-bison-54',
    'mlctl report income@production --out income.html',
    'mlctl report --compare 01a2098f 01a20991 --out compare.html',
  );
  command.action(async (ref: string | undefined, flags: Record<string, unknown>, cmd: Command) => {
    const backend = typeof flags.backend === 'string' ? flags.backend : context.config.tfBackend;
    const options: ReportCommandOptions = {
      ...(ref === undefined ? {} : { ref }),
      ...(Array.isArray(flags.compare) ? { compare: flags.compare as string[] } : {}),
      ...(typeof flags.out === 'string' ? { out: flags.out } : {}),
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(backend === undefined ? {} : { backend }),
      importance: flags.importance !== false,
      ...(typeof flags.importanceRows === 'number' ? { importanceRows: flags.importanceRows } : {}),
      ...(typeof flags.importanceSeed === 'number' ? { importanceSeed: flags.importanceSeed } : {}),
      ...(typeof flags.slices === 'string' ? { slices: flags.slices.split(',').map((s) => s.trim()).filter((s) => s !== '') } : {}),
    };
    const { UsageError } = await import('../core/errors.js');
    if (options.compare === undefined && options.ref === undefined) {
      throw new UsageError('REPORT_NOTHING_TO_REPORT', 'name a run or model to report on, or --compare two or more runs', { hint: 'e.g. `mlctl report income@production`, or `mlctl report --compare 01a2098f 01a20991`' });
    }
    const output = context.output(cmd);
    if (options.compare !== undefined) await compareRuns(options, context, output);
    else await reportOne(options, context, output);
  });
}

async function writeReport(path: string, html: string): Promise<{ path: string; bytes: number }> {
  const [{ writeFileAtomic }, { dirname }, { mkdir }] = await Promise.all([
    import('../core/fs/atomic.js'),
    import('node:path'),
    import('node:fs/promises'),
  ]);
  // `path` is absolute: resolved against the configured working folder by the caller.
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, html);
  return { path, bytes: Buffer.byteLength(html) };
}

async function reportOne(options: ReportCommandOptions, context: CliContext, output: ReturnType<CliContext['output']>): Promise<void> {
  const [{ resolveModel }, { loadPredictor }, { evaluateModel }, { resolveDataLocation, datasetStoreOptions }, { collectRunReport }, { renderRunReport }, { resolve }] = await Promise.all([
    import('./shared/model-resolution.js'),
    import('../core/predict/predictor.js'),
    import('../core/training/evaluate-model.js'),
    import('./shared/data-location.js'),
    import('../core/report/collect-run-report.js'),
    import('../core/report/render-run-report.js'),
    import('node:path'),
  ]);
  const ref = options.ref!;
  const resolved = await resolveModel(ref, context);
  const progress = await output.progress(`loading ${ref}`);
  try {
    const predictor = await loadPredictor(resolved.bundleDir, options.backend === undefined ? {} : { backend: options.backend });
    try {
      progress.update('evaluating on the test rows');
      const location = await resolveDataLocation(options.data, context);
      const runId = resolved.source.runId ?? predictor.manifest.runId;
      let evaluation: ReportEvaluation;
      const limitations: string[] = [];
      try {
        evaluation = await evaluateModel(predictor, {
          ...(location.dataPath === undefined ? {} : { dataPath: location.dataPath }),
          data: datasetStoreOptions(context),
          // Slices and permutation importance read the rows.
          keepRecords: true,
        });
      } catch (error) {
        // Without the task's test rows on this machine (not pulled, no network, a corrupt
        // mirror) the run's own recorded predictions still give curves and metrics.
        const { isMlctlError } = await import('../core/errors.js');
        const dataUnavailable = isMlctlError(error) && ['not-found', 'external', 'gate'].includes(error.category);
        if (options.data !== undefined || runId === null || !dataUnavailable) throw error;
        const [{ recordedEvaluation }, { openTracking }] = await Promise.all([import('../core/report/recorded-predictions.js'), import('./shared/tracking.js')]);
        const recorded = await recordedEvaluation(await openTracking(context), runId, predictor.manifest);
        if (recorded === null) throw error;
        const why = `The test rows could not be loaded (${(error as Error).message}), so this report uses the predictions run ${runId} recorded at training time: no fairness slices, no feature importance.`;
        output.warn(why);
        limitations.push(why);
        evaluation = recorded;
      }
      const { openTracking } = await import('./shared/tracking.js');
      const data = await collectRunReport({
        limitations,
        runs: await openTracking(context),
        modelRef: ref,
        runId,
        predictor,
        evaluation,
        mlctlVersion: context.version,
        ...(options.slices === undefined ? {} : { sliceColumns: options.slices }),
        importance: options.importance
          ? {
              ...(options.importanceRows === undefined ? {} : { maxRows: options.importanceRows }),
              ...(options.importanceSeed === undefined ? {} : { seed: options.importanceSeed }),
            }
          : false,
        onProgress: (message) => progress.update(message),
      });
      const name = runId ?? predictor.manifest.task.name;
      const written = await writeReport(resolve(context.config.cwd, options.out ?? `${REPORTS_DIR}/report-${name}.html`), renderRunReport(data));
      progress.succeed(`report written to ${written.path}`);
      const charts = [
        ...(Object.keys(data.histories).length > 0 ? ['learning-curves'] : []),
        ...(data.classification === null ? [] : ['roc', 'precision-recall', 'confusion-matrix', 'calibration', ...data.classification.slices.map((s) => `slices:${s.column}`)]),
        ...(data.regression === null ? [] : ['predicted-vs-actual', 'residuals']),
        ...(data.importance === null ? [] : ['permutation-importance']),
      ];
      output.result(
        {
          out: written.path,
          bytes: written.bytes,
          run: runId,
          model: { ref, bundleDir: resolved.bundleDir, task: predictor.manifest.task.name },
          evaluation: { source: evaluation.source, rows: evaluation.rows, metrics: evaluation.metrics },
          charts,
          fairness: data.classification?.slices.map((s) => ({ column: s.column, largestGap: s.largestGap, disparateImpact: s.disparateImpact })) ?? [],
          importance: data.importance?.columns ?? null,
        },
        () => written.path,
      );
    } finally {
      predictor.dispose();
    }
  } catch (error) {
    progress.stop();
    throw error;
  }
}

async function compareRuns(options: ReportCommandOptions, context: CliContext, output: ReturnType<CliContext['output']>): Promise<void> {
  const [{ collectCompareReport, renderCompareReport }, { resolve }, { openTracking }] = await Promise.all([
    import('../core/report/compare-report.js'),
    import('node:path'),
    import('./shared/tracking.js'),
  ]);
  const ids = [...(options.ref === undefined ? [] : [options.ref]), ...(options.compare ?? [])];
  const data = await collectCompareReport({ store: await openTracking(context), runIds: ids, mlctlVersion: context.version });
  const out = resolve(context.config.cwd, options.out ?? `${REPORTS_DIR}/report-compare-${data.runs.map((r) => shortId(r.summary.id)).join('-')}.html`);
  const written = await writeReport(out, renderCompareReport(data));
  output.info(`report written to ${written.path}`);
  output.result(
    {
      out: written.path,
      bytes: written.bytes,
      runs: data.runs.map((r) => ({ id: r.summary.id, name: r.summary.name, metrics: r.summary.metrics })),
    },
    () => written.path,
  );
}
