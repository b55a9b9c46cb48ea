/**
 * Real model bundles for the serving tests, built without TensorFlow.js: the income
 * pipeline fitted on a few synthetic census rows, and a small dense network written in
 * TensorFlow.js' layers format (model.json + weights.bin) with seeded weights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadModel } from '../../../src/core/bundle/load-model.js';
import { buildReferenceProfile } from '../../../src/core/monitoring/reference-profile.js';
import { interpretOutput } from '../../../src/core/bundle/output-meaning.js';
import { SEED_INCOME_EXAMPLE } from '../../../src/core/serving/openapi.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../../../src/core/bundle/model-bundle.js';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { fitPipeline } from '../../../src/core/features/pipeline.js';
import { pipelineInputSchema } from '../../../src/core/features/record-validation.js';
import { createRng } from '../../../src/core/random.js';
import { INCOME_TASK } from '../../../src/core/tasks/builtin-tasks.js';
import type { TaskSpec } from '../../../src/core/tasks/task-spec.js';
import { loadServedModel, type ServedModel } from '../../../src/core/serving/served-model.js';

const WORKCLASSES = ['Private', 'State-gov', 'Self-emp-not-inc', 'Federal-gov'];
const EDUCATION = [
  ['Bachelors', 13],
  ['HS-grad', 9],
  ['Masters', 14],
  ['Doctorate', 16],
] as const;
const MARITAL = ['Never-married', 'Married-civ-spouse', 'Divorced'];
const OCCUPATIONS = ['Adm-clerical', 'Exec-managerial', 'Prof-specialty', 'Sales'];
const RELATIONSHIPS = ['Not-in-family', 'Husband', 'Wife', 'Own-child'];
const RACES = ['White', 'Black', 'Asian-Pac-Islander'];
const SEXES = ['Male', 'Female'];
const COUNTRIES = ['United-States', 'Mexico', 'India'];

/** Census rows with every category above present at least once. */
export function syntheticCensusRows(count: number, seed = 7): DataRecord[] {
  const rng = createRng(seed);
  const pick = <T>(values: readonly T[], i: number): T => values[(i + Math.floor(rng() * values.length)) % values.length]!;
  return Array.from({ length: count }, (_, i) => {
    const [education, educationNum] = pick(EDUCATION, i);
    return {
      age: 18 + Math.floor(rng() * 60),
      workclass: pick(WORKCLASSES, i),
      fnlwgt: 20_000 + Math.floor(rng() * 400_000),
      education,
      education_num: educationNum,
      marital_status: pick(MARITAL, i),
      occupation: pick(OCCUPATIONS, i),
      relationship: pick(RELATIONSHIPS, i),
      race: pick(RACES, i),
      sex: pick(SEXES, i),
      capital_gain: rng() < 0.1 ? Math.floor(rng() * 20_000) : 0,
      capital_loss: rng() < 0.05 ? Math.floor(rng() * 2_000) : 0,
      hours_per_week: 10 + Math.floor(rng() * 60),
      native_country: pick(COUNTRIES, i),
    };
  });
}

/** TensorFlow.js layers-format files for a Sequential stack of Dense layers with seeded weights. */
export function denseModelFiles(
  inputs: number,
  layers: readonly { units: number; activation: string; useBias?: boolean }[],
  seed: number,
  extraLayers: readonly { at: number; layer: Record<string, unknown> }[] = [],
): Map<string, Uint8Array> {
  const rng = createRng(seed);
  const topology: Record<string, unknown>[] = [];
  const specs: { name: string; shape: number[]; dtype: string }[] = [];
  const weights: number[] = [];
  let width = inputs;
  layers.forEach((layer, i) => {
    for (const extra of extraLayers) if (extra.at === i) topology.push(extra.layer);
    const useBias = layer.useBias !== false;
    topology.push({
      class_name: 'Dense',
      config: { units: layer.units, activation: layer.activation, use_bias: useBias, name: `dense_${i}`, ...(i === 0 ? { batch_input_shape: [null, inputs] } : {}) },
    });
    specs.push({ name: `dense_${i}/kernel`, shape: [width, layer.units], dtype: 'float32' });
    for (let k = 0; k < width * layer.units; k++) weights.push((rng() - 0.5) * 0.6);
    if (useBias) {
      specs.push({ name: `dense_${i}/bias`, shape: [layer.units], dtype: 'float32' });
      for (let k = 0; k < layer.units; k++) weights.push((rng() - 0.5) * 0.2);
    }
    width = layer.units;
  });
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'mlctl-test',
    modelTopology: { class_name: 'Sequential', config: { name: 'sequential', layers: topology } },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  return new Map([
    ['model.json', new TextEncoder().encode(JSON.stringify(modelJson))],
    ['weights.bin', new Uint8Array(Float32Array.from(weights).buffer)],
  ]);
}

export interface IncomeBundle {
  readonly dir: string;
  readonly root: string;
  cleanup(): void;
}

/** Writes an income MLP bundle (64 → 32 → 1, relu/relu/sigmoid) into a fresh temporary folder. */
export async function writeIncomeBundle(
  options: {
    seed?: number;
    runId?: string;
    root?: string;
    name?: string;
    modelFiles?: (inputs: number) => Promise<Map<string, Uint8Array>>;
    /** Another task with income's columns (a user's own task: routes follow the task). */
    task?: TaskSpec;
    /** Write a reference profile of the synthetic training rows (profile.json), as training does. */
    profile?: boolean;
  } = {},
): Promise<IncomeBundle> {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'mlctl-serving-'));
  const rows = syntheticCensusRows(200);
  const task = options.task ?? INCOME_TASK;
  const pipeline = fitPipeline(task.features, rows, { bounds: task.bounds ?? {} });
  const inputs = pipeline.featureNames.length;
  const architecture = { inputs, layers: [{ units: 16, activation: 'relu' }, { units: 8, activation: 'tanh' }, { units: 1, activation: 'sigmoid' }] };
  const dir = join(root, options.name ?? `bundle-${options.seed ?? 1}`);
  const contents = {
    manifest: {
      task,
      problemType: 'binary-classification',
      modelFamily: 'mlp',
      backend: 'js',
      createdAt: '2026-01-01T00:00:00.000Z',
      mlctlVersion: '0.0.0-test',
      runId: options.runId ?? null,
      inputSchema: pipelineInputSchema(pipeline),
      output: { kind: 'binary-probability', target: 'income', positiveLabel: '>50K', negativeLabel: '<=50K', threshold: 0.5 },
      featureNames: pipeline.featureNames,
      metrics: { accuracy: 0.5 },
      model: { facts: [{ label: 'network', value: 'test fixture' }] },
      dataset: { name: 'synthetic', files: {} },
    },
    pipeline,
    modelFiles: options.modelFiles === undefined ? denseModelFiles(inputs, architecture.layers, options.seed ?? 1) : await options.modelFiles(inputs),
  } as const;
  if (options.profile === true) {
    // The model's outputs on its training rows, as training profiles them: score a draft first.
    const draft = join(root, `.draft-${options.seed ?? 1}`);
    await writeBundle(draft, contents);
    const model = await loadModel(draft);
    const outputs = await model.scoreRecords(rows);
    model.dispose();
    rmSync(draft, { recursive: true, force: true });
    await writeBundle(dir, { ...contents, profile: buildReferenceProfile({ pipeline, records: rows, meaning: interpretOutput(contents.manifest.output), outputs }) });
  } else {
    await writeBundle(dir, contents);
  }
  return { dir, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export async function loadFixtureModel(dir: string, runId = 'fixture-run'): Promise<ServedModel> {
  return loadServedModel({ bundleDir: dir, source: { kind: 'run', runId } });
}

/** The seed's curl body: race and sex left out. */
export const SEED_BODY = SEED_INCOME_EXAMPLE;
