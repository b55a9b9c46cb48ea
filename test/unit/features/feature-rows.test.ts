import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allRows, selectRows } from '../../../src/core/datasets/data-table.js';
import { getDatasetSpec } from '../../../src/core/datasets/dataset-registry.js';
import { readDatasetTable } from '../../../src/core/datasets/table-reader.js';
import { createFeatureRows, materialize, subsetRows } from '../../../src/core/features/feature-rows.js';
import { fitPipeline, fitPipelineOnRows, transformRecords } from '../../../src/core/features/pipeline.js';
import { getModelFamily } from '../../../src/core/models/model-families.js';
import { INCOME_TASK } from '../../../src/core/tasks/builtin-tasks.js';
import { rowsAsRecords } from '../../../src/core/datasets/data-table.js';
import { taskColumns } from '../../../src/core/training/task-data.js';
import { SHARED_DATA } from '../../helpers/cli.js';

/**
 * The columnar training path against the record path it replaced, on Adult: the same
 * fitted pipeline, and the same Float32 features bit for bit, for the MLP's one-hot pipeline
 * and gbt's ordinal one.
 */
describe('FeatureRows over a columnar table', async () => {
  const spec = getDatasetSpec('income');
  const path = join(SHARED_DATA, 'income', 'adult.data');
  const { table } = await readDatasetTable(path, spec, spec.files.find((f) => f.name === 'adult.data'), { columns: taskColumns(INCOME_TASK) });
  const rows = selectRows(allRows(table), Uint32Array.from({ length: 5_000 }, (_, i) => (i * 7) % table.rows));
  const records = rowsAsRecords(rows, taskColumns(INCOME_TASK).map((c) => c.name));

  it.each([
    ['mlp (one-hot)', INCOME_TASK.features],
    ['gbt (ordinal)', getModelFamily('gbt').adaptFeatures!(INCOME_TASK.features, {})],
  ])('%s: fits the same pipeline and writes the same features as the record path', (_, features) => {
    const fromRows = fitPipelineOnRows(features, rows);
    const fromRecords = fitPipeline(features, records);
    expect(fromRows).toEqual(fromRecords);
    const columnar = materialize(createFeatureRows(fromRows, rows));
    const expected = transformRecords(fromRecords, records);
    expect(columnar.cols).toBe(expected.cols);
    expect(Buffer.from(columnar.data.buffer).equals(Buffer.from(expected.data.buffer))).toBe(true);
  });

  it('writes any rows in any order: blocks, gathers and subsets agree with the whole matrix', () => {
    const pipeline = fitPipelineOnRows(INCOME_TASK.features, rows);
    const x = createFeatureRows(pipeline, rows);
    const whole = materialize(x);
    const positions = Uint32Array.from([4_999, 0, 17, 17, 2_500]);
    const gathered = new Float32Array(positions.length * x.cols);
    x.gather(positions, 0, positions.length, gathered);
    const subset = materialize(subsetRows(x, positions));
    positions.forEach((row, i) => {
      const expected = whole.data.subarray(row * x.cols, (row + 1) * x.cols);
      expect(gathered.subarray(i * x.cols, (i + 1) * x.cols)).toEqual(expected);
      expect(subset.data.subarray(i * x.cols, (i + 1) * x.cols)).toEqual(expected);
    });
  });
});
