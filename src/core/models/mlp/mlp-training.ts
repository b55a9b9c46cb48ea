/**
 * Fitting the MLP on TensorFlow.js: imported only by `mlpFamily.fit`, so nothing else pays
 * for TensorFlow.js. The fitted network is saved in the TensorFlow.js layers format
 * (model.json + weights.bin) and disposed; scoring reads those files (mlp-scorer.ts).
 */
import { createRng } from '../../random.js';
import { rocAuc } from '../../metrics/classification.js';
import { materialize } from '../../features/feature-rows.js';
import { abortError, type FitOptions, type FitResult, type LabelledSet, type ModelFiles, type ModelSummary } from '../model-family.js';
import { loadTensorFlow, type Tf } from './tf-backend.js';
import type { MlpParams } from './mlp-family.js';

type LayersModel = import('@tensorflow/tfjs-layers').LayersModel;
type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;

/** How the output layer and the loss follow from the problem. */
interface Head {
  readonly units: number;
  readonly activation: 'linear' | 'sigmoid' | 'softmax';
  readonly loss: 'meanSquaredError' | 'binaryCrossentropy' | 'categoricalCrossentropy';
  readonly classification: boolean;
}

function headFor(options: FitOptions): Head {
  if (options.problemType === 'regression') return { units: 1, activation: 'linear', loss: 'meanSquaredError', classification: false };
  if (options.problemType === 'multiclass-classification') return { units: options.classes, activation: 'softmax', loss: 'categoricalCrossentropy', classification: true };
  return { units: 1, activation: 'sigmoid', loss: 'binaryCrossentropy', classification: true };
}

function buildModel(tf: Tf, inputs: number, params: MlpParams, head: Head, seed: number): LayersModel {
  const model = tf.sequential();
  params.hiddenLayers.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: params.activation,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        kernelRegularizer: params.l2 > 0 ? tf.regularizers.l2({ l2: params.l2 }) : undefined,
        ...(i === 0 ? { inputShape: [inputs] } : {}),
      }),
    );
    // A fixed dropout seed would draw the same mask every batch, so dropout stays unseeded:
    // runs with dropout > 0 are not bit-reproducible.
    if (params.dropout > 0) model.add(tf.layers.dropout({ rate: params.dropout }));
  });
  model.add(
    tf.layers.dense({
      units: head.units,
      activation: head.activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + params.hiddenLayers.length }),
      ...(params.hiddenLayers.length === 0 ? { inputShape: [inputs] } : {}),
    }),
  );
  model.compile({ optimizer: createOptimizer(tf, params), loss: head.loss, metrics: head.classification ? ['accuracy'] : [] });
  return model;
}

function createOptimizer(tf: Tf, params: MlpParams): import('@tensorflow/tfjs-core').Optimizer {
  switch (params.optimizer) {
    case 'adam':
      return tf.train.adam(params.learningRate);
    case 'sgd':
      return tf.train.sgd(params.learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(params.learningRate);
    case 'adagrad':
      return tf.train.adagrad(params.learningRate);
  }
}

/** The targets of rows `order[start…end)` as the head's loss reads them: one column, or one-hot over the classes. */
function targetBlock(y: Float32Array, order: Int32Array, start: number, end: number, head: Head): Float32Array {
  const block = new Float32Array((end - start) * (head.activation === 'softmax' ? head.units : 1));
  for (let i = start; i < end; i++) {
    const value = y[order[i]!] as number;
    if (head.activation === 'softmax') block[(i - start) * head.units + value] = 1;
    else block[i - start] = value;
  }
  return block;
}

/**
 * An epoch's batches: consecutive runs of the shuffled order, each gathered from the training
 * rows' features (FeatureRows: the columnar store, never one matrix of every row) into a pair
 * of fresh tensors (fitDataset disposes them), in the shape tfjs-layers' fitDataset reads
 * (`iterator()` and `size`). model.fit would cut the same batches from one big tensor with a
 * gather per batch, and gathers are slow on the wasm and cpu backends (~0.2 s for an epoch of
 * the income set). The abort signal is checked before every batch, so Ctrl-C stops within one.
 */
function batchesOf(tf: Tf, set: LabelledSet, order: Int32Array, batchSize: number, head: Head, signal: AbortSignal | undefined) {
  const count = order.length;
  const cols = set.x.cols;
  return {
    size: Math.ceil(count / batchSize),
    async iterator() {
      let start = 0;
      return {
        async next() {
          if (signal?.aborted === true) throw abortError(signal);
          if (start >= count) return { value: null, done: true };
          const end = Math.min(count, start + batchSize);
          // A fresh array per batch: a backend may keep the array it is given as the tensor's storage.
          const features = new Float32Array((end - start) * cols);
          set.x.gather(order, start, end, features);
          const value = {
            xs: tf.tensor2d(features, [end - start, cols]),
            ys: tf.tensor2d(targetBlock(set.y, order, start, end, head), [end - start, head.units]),
          };
          start = end;
          return { value, done: false };
        },
      };
    },
  };
}

/** Validation rows predicted at once; more are predicted a chunk at a time, so no tensor holds them all. */
const VALIDATION_CHUNK_ROWS = 65_536;

/** The network's outputs for every validation row. */
async function predictRows(tf: Tf, model: LayersModel, set: LabelledSet, whole: Tensor2D | undefined, units: number): Promise<Float32Array> {
  if (whole !== undefined) {
    const out = model.predict(whole, { batchSize: set.x.rows }) as Tensor2D;
    const p = (await out.data()) as Float32Array;
    out.dispose();
    return p;
  }
  const p = new Float32Array(set.x.rows * units);
  const buffer = new Float32Array(VALIDATION_CHUNK_ROWS * set.x.cols);
  for (let from = 0; from < set.x.rows; from += VALIDATION_CHUNK_ROWS) {
    const to = Math.min(set.x.rows, from + VALIDATION_CHUNK_ROWS);
    set.x.fill(from, to, buffer);
    const chunk = tf.tensor2d(buffer.slice(0, (to - from) * set.x.cols), [to - from, set.x.cols], 'float32');
    const out = model.predict(chunk, { batchSize: to - from }) as Tensor2D;
    p.set((await out.data()) as Float32Array, from * units);
    out.dispose();
    chunk.dispose();
  }
  return p;
}

function logLoss(y: Float32Array, p: Float32Array, head: Head): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = head.activation === 'softmax' ? (p[i * head.units + (y[i] as number)] ?? 0) : (y[i] ?? 0) > 0.5 ? (p[i] ?? 0) : 1 - (p[i] ?? 0);
    sum -= Math.log(Math.min(Math.max(q, 1e-7), 1 - 1e-7));
  }
  return sum / y.length;
}

function predictedClass(p: Float32Array, row: number, head: Head): number {
  if (head.activation !== 'softmax') return (p[row] ?? 0) >= 0.5 ? 1 : 0;
  let best = 0;
  for (let k = 1; k < head.units; k++) if ((p[row * head.units + k] ?? 0) > (p[row * head.units + best] ?? 0)) best = k;
  return best;
}

function validationMetrics(y: Float32Array, p: Float32Array, head: Head): Record<string, number> {
  if (!head.classification) {
    let se = 0;
    for (let i = 0; i < y.length; i++) se += ((y[i] ?? 0) - (p[i] ?? 0)) ** 2;
    return { val_loss: se / y.length };
  }
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (predictedClass(p, i, head) === y[i]) correct += 1;
  const metrics: Record<string, number> = { val_loss: logLoss(y, p, head), val_accuracy: correct / y.length };
  if (head.activation === 'sigmoid') metrics.val_auc = rocAuc(y, p);
  return metrics;
}

async function serialize(tf: Tf, model: LayersModel): Promise<ModelFiles> {
  let files: Map<string, Uint8Array> | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const weights = weightData instanceof ArrayBuffer ? new Uint8Array(weightData) : new Uint8Array(await new Blob(weightData as ArrayBuffer[]).arrayBuffer());
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'mlctl',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      files = new Map([
        ['model.json', new TextEncoder().encode(`${JSON.stringify(modelJson)}\n`)],
        ['weights.bin', weights],
      ]);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (files === undefined) throw new Error('TensorFlow.js did not hand over the model artifacts');
  return files;
}

function summaryOf(inputs: number, params: MlpParams, head: Head, run: number, best: number, stoppedEarly: boolean): ModelSummary {
  const shape = [inputs, ...params.hiddenLayers, head.units].join(' → ');
  return {
    iterations: { unit: 'epoch', run, best, stoppedEarly },
    facts: [
      { label: 'network', value: `${shape} (${params.activation}, ${head.activation} output)` },
      { label: 'optimizer', value: `${params.optimizer}, learning rate ${params.learningRate}, batch ${params.batchSize}` },
    ],
  };
}

/**
 * Fits the network with our own seeded shuffle (tfjs shuffles with Math.random, which
 * --seed cannot reach), early stopping on the validation loss with the best weights
 * restored, and class weights when asked.
 */
export async function fitMlp(train: LabelledSet, validation: LabelledSet | undefined, params: MlpParams, options: FitOptions): Promise<FitResult> {
  const { tf, backend } = await loadTensorFlow(options.backend);
  const head = headFor(options);
  const model = buildModel(tf, train.x.cols, params, head, options.seed);
  // A validation set small enough is one tensor for the whole fit; a larger one is predicted in chunks.
  const xVal = validation === undefined || validation.x.rows > VALIDATION_CHUNK_ROWS ? undefined : tf.tensor2d(materialize(validation.x).data, [validation.x.rows, validation.x.cols], 'float32');
  const rng = createRng(options.seed);
  const order = new Int32Array(train.x.rows).map((_, i) => i);
  const classWeight = head.classification && params.classWeight === 'balanced' ? balancedClassWeights(train.y, head.activation === 'softmax' ? head.units : 2) : undefined;

  let bestLoss = Number.POSITIVE_INFINITY;
  let bestEpoch = 0;
  let bestWeights: Tensor[] | undefined;
  let epochsRun = 0;
  let stoppedEarly = false;
  const started = performance.now();
  try {
    for (let epoch = 1; epoch <= params.epochs; epoch++) {
      if (options.signal?.aborted === true) throw abortError(options.signal);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        const t = order[i] as number;
        order[i] = order[j] as number;
        order[j] = t;
      }
      const history = await model.fitDataset(batchesOf(tf, train, order, params.batchSize, head, options.signal) as never, {
        epochs: 1,
        verbose: 0,
        ...(classWeight === undefined ? {} : { classWeight }),
      });
      epochsRun = epoch;

      const metrics: Record<string, number> = { train_loss: lastOf(history.history.loss) };
      if (head.classification) metrics.train_accuracy = lastOf(history.history.acc ?? history.history.accuracy);
      let monitored = metrics.train_loss as number;
      if (validation !== undefined) {
        const p = await predictRows(tf, model, validation, xVal, head.units);
        Object.assign(metrics, validationMetrics(validation.y, p, head));
        monitored = metrics.val_loss as number;
      }
      const elapsedMs = performance.now() - started;
      await options.onIteration?.({ unit: 'epoch', iteration: epoch, iterations: params.epochs, metrics, elapsedMs, etaMs: (elapsedMs / epoch) * (params.epochs - epoch) });

      if (monitored < bestLoss - 1e-6) {
        bestLoss = monitored;
        bestEpoch = epoch;
        bestWeights?.forEach((w) => w.dispose());
        bestWeights = model.getWeights().map((w) => w.clone());
      } else if (params.patience > 0 && epoch - bestEpoch >= params.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (bestWeights !== undefined) model.setWeights(bestWeights);
    const files = await serialize(tf, model);
    return { files, backend, summary: summaryOf(train.x.cols, params, head, epochsRun, bestEpoch, stoppedEarly) };
  } finally {
    model.dispose();
    bestWeights?.forEach((w) => w.dispose());
    xVal?.dispose();
  }
}

function lastOf(values: readonly (number | Tensor)[] | undefined): number {
  const value = values?.[values.length - 1];
  return typeof value === 'number' ? value : Number.NaN;
}

/** Inverse-frequency weights, as scikit-learn's class_weight="balanced". */
function balancedClassWeights(y: Float32Array, classes: number): Record<number, number> {
  const counts = new Float64Array(classes);
  if (classes === 2) for (const v of y) counts[v > 0.5 ? 1 : 0]! += 1;
  else for (const v of y) counts[v]! += 1;
  const weights: Record<number, number> = {};
  for (let k = 0; k < classes; k++) weights[k] = y.length / (classes * Math.max(counts[k]!, 1));
  return weights;
}
