import { describe, expect, it } from 'vitest';
import type { BundleManifest } from '../../../src/core/bundle/bundle-manifest.js';
import { fitPipeline } from '../../../src/core/features/pipeline.js';
import { pipelineInputSchema } from '../../../src/core/features/record-validation.js';
import { analyzeClassification } from '../../../src/core/report/analyze-predictions.js';
import { defaultSliceColumns } from '../../../src/core/report/collect-run-report.js';
import { renderRunReport } from '../../../src/core/report/render-run-report.js';
import { buildOpenApi } from '../../../src/core/serving/openapi.js';
import { INCOME_TASK } from '../../../src/core/tasks/builtin-tasks.js';

describe('sensitive columns', () => {
  it('are what a report slices by; a bundle from before `sensitive` slices by its sex and race inputs', () => {
    expect(defaultSliceColumns(INCOME_TASK)).toEqual(['sex', 'race']);
    expect(INCOME_TASK.features.columns.map((c) => c.column)).not.toContain('race');
    const legacy = { features: { columns: [{ column: 'age' }, { column: 'sex' }] } };
    expect(defaultSliceColumns(legacy)).toEqual(['sex']);
    expect(defaultSliceColumns({ ...legacy, sensitive: [] })).toEqual([]);
  });

  it('are sliced from the evaluated rows even though the model never reads them', () => {
    const records = [...Array(40).keys()].map((i) => ({ age: 20 + i, sex: i % 2 === 0 ? 'Female' : 'Male' }));
    const y = records.map((_, i) => (i % 4 === 0 ? 1 : 0));
    const scores = records.map((_, i) => (i % 4 === 0 ? 0.8 : 0.3));
    const analysis = analyzeClassification({ yTrue: y, scores, records, sliceColumns: ['sex'] });
    expect(analysis.slices.map((s) => [s.column, s.groups.map((g) => g.value).sort()])).toEqual([['sex', ['Female', 'Male']]]);
  });
});

describe('odd column names', () => {
  const names = ['Monthly fee (€)', 'tenure [months]', 'support calls', 'Größe, in m²', 'a "quoted" name'];
  const records = [...Array(10).keys()].map((i) => Object.fromEntries(names.map((n, k) => [n, k === 4 ? `v${i % 2}` : i * (k + 1)])));
  const pipeline = fitPipeline(
    {
      columns: names.map((column, k) =>
        k === 4
          ? { column, type: 'categorical' as const, steps: [{ kind: 'impute' as const, strategy: 'most-frequent' as const }, { kind: 'one-hot' as const, unseen: 'ignore' as const }] }
          : { column, type: 'numeric' as const, steps: [{ kind: 'impute' as const, strategy: 'median' as const }, { kind: 'standardize' as const }] },
      ),
    },
    records,
  );

  it('are the properties of the OpenAPI input schema, as written', () => {
    const manifest = {
      task: { ...INCOME_TASK, name: 'churn', features: { columns: [] } },
      output: { kind: 'binary-probability', target: 'Churned?', positiveLabel: 'yes', negativeLabel: 'no', threshold: 0.5 },
      inputSchema: pipelineInputSchema(pipeline),
    } as unknown as BundleManifest;
    const spec = buildOpenApi({ model: { name: 'churn', version: '1', manifest }, mlctlVersion: '0', authRequired: false, usersAvailable: false }) as any;
    // The record schema is named after the task (churn → ChurnRecord).
    expect(Object.keys(spec.components.schemas.ChurnRecord.properties)).toEqual(names);
    expect(JSON.parse(JSON.stringify(spec)).components.schemas.ChurnRecord.required).toEqual(names);
  });

  it('are escaped in the HTML report', () => {
    const html = renderRunReport({
      generatedAt: '2026-01-01T00:00:00Z',
      mlctlVersion: '0',
      run: null,
      model: { ref: 'x', bundleDir: '/b', task: 'churn', problemType: 'binary-classification', modelFamily: 'mlp', backend: 'js', createdAt: '', mlctlVersion: '0', dataset: { name: 'c', files: {} }, featureCount: 5, fitted: { facts: [] } },
      histories: {},
      evaluation: { source: 's', rows: 1, metrics: {}, threshold: null, confusion: null },
      classification: null,
      regression: null,
      importance: { metric: 'auc', baseline: 0.9, seed: 1, repeats: 1, rows: 10, columns: names.map((column) => ({ column, permuted: 0.8, drop: 0.1, std: 0 })) } as any,
    });
    expect(html).toContain('a &quot;quoted&quot; name');
    expect(html).toContain('Monthly fee (€)');
    expect(html).not.toContain('a "quoted" name');
  });
});
