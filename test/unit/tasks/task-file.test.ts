import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { readInferenceData } from '../../../src/core/training/task-data.js';
import { deepMerge, loadTaskFile, readTaskFile, taskNameFromPath } from '../../../src/core/tasks/task-registry.js';
import { interpretOutput, METRICS_BY_PROBLEM_TYPE } from '../../../src/core/bundle/output-meaning.js';
import { checkGates } from '../../../src/core/training/train-task.js';

const dir = mkdtempSync(join(tmpdir(), 'mlctl-task-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const HOUSES = ['size,rooms,garden,price', ...Array.from({ length: 40 }, (_, i) => `${50 + i},${1 + (i % 4)},${i % 2 === 0 ? 'yes' : 'no'},${1000 * (50 + i) + 3000 * (i % 4)}`)].join('\n');
write('houses.csv', `${HOUSES}\n`);
const readData = (name: string, missing: readonly string[] | undefined) => readInferenceData(name, missing, { dataDir: join(dir, 'data') });

async function failure(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('task files', () => {
  it('trains from two lines: the data (relative to the file) and the target', async () => {
    const path = write('minimal.json', '{"data": "houses.csv", "target": "price"}\n');
    const { task, notes } = await loadTaskFile(path, { readData });
    expect(task.dataset).toBe(join(dir, 'houses.csv'));
    expect(task.name).toBe('houses');
    expect(task.problemType).toBe('regression');
    expect(task.model).toEqual({ family: 'linear', params: { intercept: true } });
    expect(task.split).toEqual({ method: 'seeded', validation: 0, test: 0.2, stratify: false, seed: 42 });
    expect(task.metrics).toEqual(['r2', 'rmse', 'mae']);
    expect(task.features.columns.map((c) => [c.column, c.type])).toEqual([
      ['size', 'numeric'],
      ['rooms', 'numeric'],
      ['garden', 'boolean'],
    ]);
    expect(notes.map((n) => n.key)).toContain('problemType');
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const path = write('bom.json', '\uFEFF{"data": "houses.csv", "target": "price"}');
    expect((await loadTaskFile(path, { readData })).task.target.column).toBe('price');
  });

  it('merges partial params with the family defaults: one setting changes one thing', async () => {
    const mlp = write('mlp.json', '{"data": "houses.csv", "target": "price", "model": {"family": "mlp", "params": {"epochs": 5}}}');
    const { task } = await loadTaskFile(mlp, { readData });
    expect(task.model.params.epochs).toBe(5);
    expect(task.model.params.hiddenLayers).toEqual([128, 64]);
    expect(task.model.params.optimizer).toBe('adam');
    const linear = write('linear.json', '{"data": "houses.csv", "target": "price", "model": {"family": "linear", "params": {}}}');
    expect((await loadTaskFile(linear, { readData })).task.model.params).toEqual({ intercept: true });
  });

  it('names every unknown key with its JSON pointer, its line and the key it probably meant', async () => {
    const path = write('typos.json', ['{', '  "data": "houses.csv",', '  "traget": "price",', '  "split": {"seeed": 3}', '}'].join('\n'));
    const error = await failure(readTaskFile(path));
    expect(error.category).toBe('usage');
    expect(error.code).toBe('TASK_FILE_INVALID');
    expect(error.problems).toEqual([
      expect.stringMatching(/^line 3, \/traget: unknown key "traget" \(did you mean "target"\?\)/),
      expect.stringMatching(/^line 4, \/split\/seeed: unknown key "seeed" \(did you mean "seed"\?\)/),
    ]);
  });

  it('refuses a gate that names no metric or no number, before any data is read', async () => {
    const path = write('gate.json', ['{', '  "data": "houses.csv", "target": "price",', '  "gates": [', '    {"metric": 5, "min": "high"},', '    {"metric": "r3"}', '  ]', '}'].join('\n'));
    const error = await failure(readTaskFile(path));
    expect(error.problems).toEqual([
      expect.stringMatching(/^line 4, \/gates\/0\/metric: 5 is not allowed; use one of "accuracy", /),
      'line 4, /gates/0/min: expected a number, got "high"',
      expect.stringMatching(/^line 5, \/gates\/1\/metric: "r3" is not allowed \(did you mean "r2"\?\)/),
      'line 5, /gates/1: needs "min" or "max"',
    ]);
  });

  it('refuses a gate on a metric the inferred problem type does not report', async () => {
    const path = write('gate-kind.json', '{"data": "houses.csv", "target": "price",\n "gates": [{"metric": "auc", "min": 0.9}]}');
    const error = await failure(loadTaskFile(path, { readData }));
    expect(error.code).toBe('TASK_FILE_INVALID');
    expect(error.problems).toEqual(['line 2, /gates/0/metric: auc is not a metric of regression; it has r2, rmse, mae']);
  });

  it('says which column the data lacks, and which it has, once', async () => {
    const path = write('no-target.json', '{"data": "houses.csv", "target": "prize"}');
    const error = await failure(loadTaskFile(path, { readData }));
    expect(error.code).toBe('TARGET_COLUMN_NOT_FOUND');
    expect(error.message).toBe(`${join(dir, 'houses.csv')} has no column "prize" (did you mean "price"?)`);
    expect(error.hint).toBe('its columns are: "size", "rooms", "garden", "price"');
  });

  it('merges "extends" in depth: one nested setting changes one thing', async () => {
    const path = write('extends.json', '{"extends": "income", "model": {"params": {"epochs": 3}}, "split": {"seed": 7}}');
    const { task } = await loadTaskFile(path, { readData });
    expect(task.model.params.epochs).toBe(3);
    expect(task.model.params.learningRate).toBe(0.004);
    expect(task.model.params.batchSize).toBe(512);
    expect(task.split).toEqual({ method: 'seeded', validation: 0.1, test: 0.2, stratify: true, seed: 7 });
    expect(task.sensitive).toEqual(['sex', 'race']);
    expect(task.dataset).toBe('income');
    expect(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] } });
  });

  it('binary without a negative label takes the one other value; a third value is refused', async () => {
    write('churn.csv', 'x,churn\n1,yes\n2,no\n3,yes\n4,maybe\n');
    const error = await failure(loadTaskFile(write('churn.json', '{"data": "churn.csv", "target": {"column": "churn", "positiveLabel": "yes"}, "problemType": "binary-classification"}'), { readData }));
    expect(error.code).toBe('TARGET_LABELS_AMBIGUOUS');
    expect(error.category).toBe('usage');
    write('churn2.csv', 'x,churn\n1,yes\n2,no\n3,yes\n4,no\n');
    const { task } = await loadTaskFile(write('churn2.json', '{"data": "churn2.csv", "target": {"column": "churn", "positiveLabel": "yes"}}'), { readData });
    expect(task.target).toEqual({ column: 'churn', positiveLabel: 'yes', negativeLabel: 'no' });
  });

  it('refuses a sensitive column listed as a feature, naming both places', async () => {
    const path = write('sensitive.json', JSON.stringify({ data: 'houses.csv', target: 'price', sensitive: ['garden'], features: { columns: [{ column: 'garden', type: 'boolean', steps: [{ kind: 'yes-no' }] }] } }));
    const error = await failure(loadTaskFile(path, { readData }));
    expect(error.problems[0]).toMatch(/\/features\/columns\/0\/column: "garden" is sensitive/);
  });

  it('leaves sensitive columns out of inferred features', async () => {
    const { task, notes } = await loadTaskFile(write('sens2.json', '{"data": "houses.csv", "target": "price", "sensitive": ["garden"]}'), { readData });
    expect(task.features.columns.map((c) => c.column)).toEqual(['size', 'rooms']);
    expect(notes.some((n) => n.message.includes('"garden" left out: sensitive'))).toBe(true);
  });

  it('gates a multiclass task on its own metrics', async () => {
    write('three.csv', ['x,kind', ...Array.from({ length: 30 }, (_, i) => `${i % 3},${['a', 'b', 'c'][i % 3]}`)].join('\n'));
    const path = write('three.json', '{"data": "three.csv", "target": "kind", "gates": [{"metric": "macro_f1", "min": 0.9}, {"metric": "log_loss", "max": 0.5}]}');
    const { task } = await loadTaskFile(path, { readData });
    expect(task.problemType).toBe('multiclass-classification');
    const meaning = interpretOutput({ kind: 'class-probabilities', target: 'kind', classes: ['a', 'b', 'c'] });
    const evaluation = meaning.evaluate([0, 1, 2, 2], Float32Array.from([0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.6, 0.2, 0.2]));
    expect(Object.keys(evaluation.metrics)).toEqual(METRICS_BY_PROBLEM_TYPE['multiclass-classification']);
    expect(checkGates(task.gates, evaluation.metrics).map((g) => [g.metric, g.passed])).toEqual([
      ['macro_f1', false],
      ['log_loss', false],
    ]);
    const perfect = meaning.evaluate([0, 1, 2], Float32Array.from([0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9]));
    expect(checkGates(task.gates, perfect.metrics).every((g) => g.passed)).toBe(true);
  });

  it('carries a monitoring section into the task, and refuses thresholds for what is not a feature', async () => {
    const good = write('monitored.json', '{"data": "houses.csv", "target": "price", "monitoring": {"bins": 5, "features": {"garden": {"js": 0.2}}}}');
    expect((await loadTaskFile(good, { readData })).task.monitoring).toEqual({ bins: 5, features: { garden: { js: 0.2 } } });
    const shape = write('monitoring-shape.json', ['{"data": "houses.csv", "target": "price",', ' "monitoring": {"bins": 1, "jsThreshold": 2, "features": {"size": {"psy": 1}}}}'].join('\n'));
    const shapeError = await failure(readTaskFile(shape));
    expect(shapeError.problems).toEqual([
      expect.stringMatching(/^line 2, \/monitoring\/bins: /),
      expect.stringMatching(/^line 2, \/monitoring\/jsThreshold: /),
      expect.stringMatching(/^line 2, \/monitoring\/features\/size\/psy: unknown key "psy" \(did you mean "psi"\?\)/),
    ]);
    const names = write('monitoring-names.json', ['{"data": "houses.csv", "target": "price",', ' "monitoring": {"features": {"sise": {"psi": 0.3}, "size": {"js": 0.2}}}}'].join('\n'));
    const namesError = await failure(loadTaskFile(names, { readData }));
    expect(namesError.problems).toEqual([
      'line 2, /monitoring/features/sise: "sise" is not a feature of the task (did you mean "size"?)',
      'line 2, /monitoring/features/size/js: "size" is numeric: the Jensen–Shannon distance is measured on categorical inputs only',
    ]);
  });

  it('makes a task name out of any file name', () => {
    expect(taskNameFromPath('/data/My Data (2024).csv')).toBe('My-Data-2024');
    expect(taskNameFromPath('https://example.org/x/élan.csv?v=1')).toBe('elan');
  });
});
