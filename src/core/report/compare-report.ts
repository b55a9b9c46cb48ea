import { UsageError } from '../errors.js';
import { precisionRecallCurve, rocAuc, rocCurve } from '../metrics/classification.js';
import type { RunStore } from '../tracking/run-store.js';
import type { RunArtifacts } from '../tracking/tracking-store.js';
import { readRunForReport } from './collect-run-report.js';
import { readRecordedPredictions } from './recorded-predictions.js';
import { barChart } from './svg/bar-chart.js';
import { lineChart, thinPoints, type LineSeries } from './svg/line-chart.js';
import { seriesColor } from './svg/chart-frame.js';
import { figures, htmlTable, keyValues, renderPage, section, type CellInput } from './html-page.js';
import { metricDirection } from './metric-gates.js';
import type { HistoryPoint, RunSummary } from './run-report-data.js';

/** Several runs side by side: what `mlctl report --compare` shows. */
export interface CompareReportData {
  readonly generatedAt: string;
  readonly mlctlVersion: string;
  readonly runs: readonly CompareRun[];
}

export interface CompareRun {
  readonly summary: RunSummary;
  readonly histories: Readonly<Record<string, readonly HistoryPoint[]>>;
  readonly problemType: string | null;
  /** From artifacts/test-predictions.csv, thinned; null when the run has none or is a regression. */
  readonly curves: { readonly roc: { fpr: number[]; tpr: number[]; auc: number }; readonly pr: { recall: number[]; precision: number[]; averagePrecision: number } } | null;
}

export interface CollectCompareOptions {
  /** The tracking store the runs are read from. */
  readonly store: Pick<RunStore, 'getRun' | 'getMetricHistory'> & Pick<RunArtifacts, 'readArtifact'>;
  readonly runIds: readonly string[];
  readonly mlctlVersion: string;
  readonly now?: () => Date;
}

/** Reads each run from the store, with its histories and test-prediction curves. */
export async function collectCompareReport(options: CollectCompareOptions): Promise<CompareReportData> {
  if (options.runIds.length < 2) {
    throw new UsageError('REPORT_COMPARE_TOO_FEW', `--compare needs at least two run ids, got ${options.runIds.length}`);
  }
  const { store } = options;
  const runs: CompareRun[] = [];
  for (const id of options.runIds) {
    const runId = (await store.getRun(id)).info.id;
    const read = await readRunForReport(store, runId);
    if (read === null) continue;
    const evaluation = readJson(await store.readArtifact(runId, 'evaluation.json'));
    const problemType = typeof evaluation?.problemType === 'string' ? evaluation.problemType : null;
    const curves = problemType === 'binary-classification' ? await readCurves(store, runId) : null;
    runs.push({ summary: read.summary, histories: read.histories, problemType, curves });
  }
  return { generatedAt: (options.now?.() ?? new Date()).toISOString(), mlctlVersion: options.mlctlVersion, runs };
}

function readJson(bytes: Uint8Array | null): Record<string, unknown> | null {
  if (bytes === null) return null;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** ROC and PR from a run's `y,prediction` file. */
async function readCurves(store: Pick<RunArtifacts, 'readArtifact'>, runId: string): Promise<CompareRun['curves']> {
  const recorded = await readRecordedPredictions(store, runId);
  if (recorded === null) return null;
  const { yTrue: y, scores: p } = recorded;
  if (!y.includes(1) || !y.includes(0)) return null;
  const roc = rocCurve(y, p);
  const pr = precisionRecallCurve(y, p);
  const rocThin = thinPoints(roc.fpr, roc.tpr);
  const prThin = thinPoints(pr.recall, pr.precision);
  return { roc: { fpr: rocThin.x, tpr: rocThin.y, auc: rocAuc(y, p) }, pr: { recall: prThin.x, precision: prThin.y, averagePrecision: pr.averagePrecision } };
}

const UNIT = { min: 0, max: 1 } as const;

/** Run names are readable and, among a handful of runs, distinct; the id stands in without one. */
function label(run: CompareRun): string {
  return run.summary.name || run.summary.id.slice(0, 12);
}

/** The comparison page: runs and their differing params, a metrics table, overlaid curves. */
export function renderCompareReport(data: CompareReportData): string {
  const runs = data.runs;
  const sections: string[] = [];

  const runRows = runs.map((r, i): CellInput[] => [
    { text: '■', style: `color:${seriesColor(i)};font-size:18px` },
    r.summary.id,
    r.summary.name,
    r.summary.experiment,
    r.summary.status,
    r.summary.startTime,
    r.summary.backend,
  ]);
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary.params)))].sort();
  const differing = paramKeys.filter((k) => new Set(runs.map((r) => JSON.stringify(r.summary.params[k] ?? null))).size > 1);
  const paramTable =
    differing.length === 0
      ? '<p class="note">All runs share the same parameters.</p>'
      : htmlTable(['param', ...runs.map(label)], differing.map((k) => [k, ...runs.map((r) => (r.summary.params[k] === undefined ? '—' : String(r.summary.params[k])))]));
  sections.push(
    section(
      'runs',
      'Runs',
      `${htmlTable(['', 'run', 'name', 'experiment', 'status', 'started', 'backend'], runRows)}<h3>Parameters that differ</h3>${paramTable}`,
    ),
  );

  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary.metrics)))].filter((k) => !k.startsWith('train_') && !k.startsWith('val_')).sort();
  const metricRows = metricKeys.map((key): CellInput[] => {
    const values = runs.map((r) => r.summary.metrics[key]);
    const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    const best = finite.length === 0 ? undefined : metricDirection(key) === 'higher' ? Math.max(...finite) : Math.min(...finite);
    return [key, ...values.map((v): CellInput => (v === undefined ? null : v === best && finite.length > 1 ? { text: v.toFixed(4), className: 'num highlight' } : v))];
  });
  const metricBars =
    metricKeys.length === 0
      ? ''
      : figures([
          {
            svg: barChart({
              title: 'Final metrics',
              valueLabel: 'value',
              series: runs.map(label),
              groups: metricKeys.filter((k) => runs.every((r) => Math.abs(r.summary.metrics[k] ?? 0) <= 1.5)).map((k) => ({ label: k, values: runs.map((r) => r.summary.metrics[k] ?? Number.NaN) })),
            }),
          },
        ]);
  sections.push(section('metrics', 'Metrics', htmlTable(['metric', ...runs.map(label)], metricRows) + metricBars, 'Final test metrics of each run; the best value of each row is highlighted.'));

  const curveCharts = [];
  const historyKeys = [...new Set(runs.flatMap((r) => Object.keys(r.histories)))];
  const overlay = (keys: readonly string[]): LineSeries[] =>
    runs.flatMap((r, i) =>
      keys
        .filter((k) => (r.histories[k]?.length ?? 0) > 0)
        .map((k) => ({
          name: `${label(r)} ${k}`,
          x: r.histories[k]!.map((p) => p.step),
          y: r.histories[k]!.map((p) => p.value),
          color: seriesColor(i),
          dashed: k.startsWith('train_'),
          markers: true,
        })),
    );
  if (historyKeys.includes('val_loss') || historyKeys.includes('train_loss')) {
    curveCharts.push({ svg: lineChart({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', series: overlay(['train_loss', 'val_loss']), xIntegers: true }), caption: 'Solid: validation; dashed: training.' });
  }
  const quality = historyKeys.includes('val_auc') ? 'val_auc' : historyKeys.includes('val_accuracy') ? 'val_accuracy' : undefined;
  if (quality !== undefined) curveCharts.push({ svg: lineChart({ title: `${quality} per epoch`, xLabel: 'epoch', yLabel: quality, series: overlay([quality]), xIntegers: true }) });
  const withCurves = runs.map((r, i) => ({ r, i })).filter(({ r }) => r.curves !== null);
  if (withCurves.length > 0) {
    curveCharts.push({
      svg: lineChart({
        title: 'ROC curves (test rows)',
        xLabel: 'false positive rate',
        yLabel: 'true positive rate',
        series: withCurves.map(({ r, i }) => ({ name: `${label(r)} AUC ${r.curves!.roc.auc.toFixed(3)}`, x: r.curves!.roc.fpr, y: r.curves!.roc.tpr, color: seriesColor(i) })),
        xDomain: UNIT,
        yDomain: UNIT,
        diagonal: true,
      }),
    });
    curveCharts.push({
      svg: lineChart({
        title: 'Precision–recall (test rows)',
        xLabel: 'recall',
        yLabel: 'precision',
        series: withCurves.map(({ r, i }) => ({ name: `${label(r)} AP ${r.curves!.pr.averagePrecision.toFixed(3)}`, x: r.curves!.pr.recall, y: r.curves!.pr.precision, color: seriesColor(i) })),
        xDomain: UNIT,
        yDomain: UNIT,
      }),
    });
  }
  sections.push(
    section('curves', 'Curves', curveCharts.length === 0 ? '<p class="note">These runs logged no per-epoch history and no classifier predictions.</p>' : figures(curveCharts)),
  );
  sections.push(section('details', 'Details', keyValues(runs.map((r): [string, string] => [r.summary.id, r.summary.commandLine]))));

  return renderPage({
    title: `mlctl report · comparing ${runs.length} runs`,
    subtitle: runs.map(label).join(' · '),
    sections,
    footer: `Generated by mlctl ${data.mlctlVersion} at ${data.generatedAt}. Self-contained: no network needed.`,
  });
}
