import { describe, expect, it } from 'vitest';
import { analyzeClassification, analyzeRegression } from '../../../src/core/report/analyze-predictions.js';
import { renderCompareReport, type CompareReportData } from '../../../src/core/report/compare-report.js';
import { renderRunReport } from '../../../src/core/report/render-run-report.js';
import type { RunReportData } from '../../../src/core/report/run-report-data.js';

const n = 400;
const yTrue = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
const scores = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0.35 + (i % 50) / 100 : 0.05 + (i % 60) / 100));
const records = Array.from({ length: n }, (_, i) => ({ sex: i % 2 === 0 ? 'Female' : 'Male', race: ['White', 'Black', 'Other'][i % 5 === 0 ? 2 : i % 4 === 0 ? 1 : 0]!, age: 20 + (i % 40) }));

const base: Omit<RunReportData, 'classification' | 'regression' | 'importance' | 'evaluation'> = {
  generatedAt: '2026-01-01T00:00:00.000Z',
  mlctlVersion: '0.1.0',
  run: {
    id: '01a2000000000000beef',
    name: 'brave-otter-1',
    experiment: 'income',
    status: 'FINISHED',
    startTime: '2026-01-01T00:00:00.000Z',
    endTime: '2026-01-01T00:00:30.000Z',
    durationMs: 30_000,
    gitCommit: 'abc123',
    commandLine: 'mlctl train income <script>',
    task: 'income',
    datasetSha256: 'f00d',
    backend: 'cpu',
    params: { epochs: 2, learningRate: 0.002 },
    tags: { 'mlctl.gates': 'passed' },
    metrics: { auc: 0.9 },
  },
  model: {
    ref: 'income@production',
    bundleDir: '/tmp/bundle',
    task: 'income',
    problemType: 'binary-classification',
    modelFamily: 'mlp',
    backend: 'cpu',
    createdAt: '2026-01-01T00:00:30.000Z',
    mlctlVersion: '0.1.0',
    fitted: { iterations: { unit: 'epoch', run: 2, best: 2, stoppedEarly: false }, facts: [{ label: 'network', value: '105 → 8 → 1' }] },
    dataset: { name: 'income', files: { 'adult.data': 'f00d' } },
    featureCount: 105,
  },
  histories: {
    train_loss: [{ step: 1, value: 0.4, timestamp: 1000 }, { step: 2, value: 0.33, timestamp: 7000 }],
    val_loss: [{ step: 1, value: 0.35 }, { step: 2, value: 0.32 }],
    val_auc: [{ step: 1, value: 0.88 }, { step: 2, value: 0.9 }],
  },
};

function classifierReport(): RunReportData {
  return {
    ...base,
    evaluation: { source: 'income test file', rows: n, metrics: { accuracy: 0.8, auc: 0.9 }, threshold: 0.5, confusion: { tp: 100, fp: 20, tn: 250, fn: 30 } },
    classification: analyzeClassification({ yTrue, scores, records, sliceColumns: ['sex', 'race', 'not_a_column'], positiveLabel: '>50K', negativeLabel: '<=50K' }),
    regression: null,
    importance: { metric: 'auc', baseline: 0.9, seed: 42, repeats: 1, rows: n, columns: [{ column: 'age', permuted: 0.8, drop: 0.1 }, { column: 'sex', permuted: 0.9, drop: 0 }] },
  };
}

describe('renderRunReport', () => {
  const html = renderRunReport(classifierReport());

  it('is one self-contained page: no script, no external URL, a CSP that forbids fetching', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/url\(/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('has every classifier chart and section', () => {
    for (const id of ['summary', 'learning-curves', 'classifier', 'thresholds', 'fairness', 'importance']) expect(html).toContain(`<section id="${id}">`);
    // 2 learning curves, ROC, PR, confusion, calibration, 2 slice charts, importance.
    expect(html.match(/<svg class="chart"/g)).toHaveLength(9);
    expect(html).toContain('By sex');
    expect(html).toContain('By race');
    expect(html).not.toContain('not_a_column');
  });

  it('escapes what the run recorded', () => {
    expect(html).toContain('mlctl train income &lt;script&gt;');
  });

  it('highlights the largest fairness gap and the threshold in use', () => {
    expect(html).toMatch(/Largest gap: [^<]+ differs by \d\.\d{4}/);
    expect(html).toMatch(/<tr class="highlight"><td>0\.5<\/td>/);
  });

  it('says so when a model has no per-epoch history', () => {
    const linear = renderRunReport({ ...classifierReport(), histories: {}, model: { ...base.model, modelFamily: 'linear' } });
    expect(linear).toContain('No per-epoch history: the linear model is fitted in one pass.');
  });
});

describe('regression report', () => {
  it('shows predicted vs actual, residuals and the coefficient table, in the target’s units', () => {
    const analysis = analyzeRegression({ target: 'price', actual: [100, 200], predicted: [110, 190] });
    expect(analysis.actual[0]).toBe(100);
    expect(analysis.predicted[1]).toBe(190);
    const fitted = {
      featureWeights: { label: 'coefficient', description: 'Change in price per unit.', intercept: 5, values: [{ feature: 'area', value: 2.5, standardError: 0.5 }] },
      facts: [{ label: 'fit', value: 'ordinary least squares with an intercept' }],
    };
    const html = renderRunReport({
      ...base,
      model: { ...base.model, modelFamily: 'linear', fitted },
      histories: {},
      evaluation: { source: 'housing split', rows: 2, metrics: { r2: 0.9 }, threshold: null, confusion: null },
      classification: null,
      regression: analysis,
      importance: null,
    });
    expect(html).toContain('<section id="regression">');
    expect(html).toContain('<section id="model">');
    expect(html).toContain('ordinary least squares with an intercept');
    expect(html).toMatch(/<td>area<\/td><td class="num">2\.5000<\/td><td class="num">0\.5000<\/td><td class="num">5<\/td>/);
    expect(html).not.toContain('<section id="fairness">');
  });
});

describe('renderCompareReport', () => {
  it('overlays curves of several runs and highlights the best value of each metric', () => {
    const run = (id: string, auc: number, logLoss: number, epochs: number): CompareReportData['runs'][number] => ({
      summary: { ...base.run!, id, name: id, params: { epochs }, metrics: { auc, log_loss: logLoss } },
      histories: { val_loss: [{ step: 1, value: 0.4 }, { step: 2, value: 0.35 }], val_auc: [{ step: 1, value: auc - 0.01 }, { step: 2, value: auc }] },
      problemType: 'binary-classification',
      curves: { roc: { fpr: [0, 0.2, 1], tpr: [0, 0.8, 1], auc }, pr: { recall: [0, 0.5, 1], precision: [1, 0.8, 0.3], averagePrecision: 0.7 } },
    });
    const html = renderCompareReport({ generatedAt: 'now', mlctlVersion: '0.1.0', runs: [run('aaaaaaaa1', 0.9, 0.3, 2), run('bbbbbbbb2', 0.92, 0.35, 5)] });
    // Loss, val_auc, ROC, PR and the metric bars.
    expect(html.match(/<svg class="chart"/g)).toHaveLength(5);
    // Best AUC is the higher, best log loss the lower.
    expect(html).toContain('<td class="num highlight">0.9200</td>');
    expect(html).toContain('<td class="num highlight">0.3000</td>');
    // Only differing params are listed.
    expect(html).toMatch(/<td>epochs<\/td><td>2<\/td><td>5<\/td>/);
  });
});
