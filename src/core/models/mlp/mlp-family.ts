import type { FeatureMatrix } from '../../features/pipeline.js';
import { createRng } from '../../random.js';
import { rocAuc } from '../../metrics/classification.js';
import type { MlpParams } from '../../tasks/task-spec.js';
import type { FitOptions, FitResult, LabelledSet, ModelFamily, ModelFiles, TrainedModel } from '../model-family.js';
import { loadTensorFlow, type Tf, type TfBackendName } from './tf-backend.js';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type Tensor2D = import('@tensorflow/tfjs').Tensor2D;

/** Dense layer shapes, in the manifest so a lean JavaScript forward pass can replay the net. */
export interface MlpArchitecture {
  readonly inputs: number;
  readonly layers: readonly { readonly units: number; readonly activation: string }[];
}

function buildModel(tf: Tf, inputs: number, params: MlpParams, regression: boolean, seed: number): LayersModel {
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
      units: 1,
      activation: regression ? 'linear' : 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + params.hiddenLayers.length }),
    }),
  );
  model.compile({
    optimizer: createOptimizer(tf, params),
    loss: regression ? 'meanSquaredError' : 'binaryCrossentropy',
    metrics: regression ? [] : ['accuracy'],
  });
  return model;
}

function createOptimizer(tf: Tf, params: MlpParams): import('@tensorflow/tfjs').Optimizer {
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

function architectureOf(model: LayersModel, inputs: number): MlpArchitecture {
  const layers: { units: number; activation: string }[] = [];
  for (const layer of model.layers) {
    const config = layer.getConfig() as { units?: number; activation?: string };
    if (layer.getClassName() === 'Dense' && config.units !== undefined) {
      layers.push({ units: config.units, activation: config.activation ?? 'linear' });
    }
  }
  return { inputs, layers };
}

/** Copies the rows of `set` into `into` in the order `order` gives: an epoch's shuffle. */
function shuffleRows(set: LabelledSet, order: Int32Array, into: { x: Float32Array; y: Float32Array }): void {
  const cols = set.x.cols;
  for (let i = 0; i < order.length; i++) {
    const row = order[i] as number;
    into.x.set(set.x.data.subarray(row * cols, (row + 1) * cols), i * cols);
    into.y[i] = set.y[row] as number;
  }
}

/**
 * The shuffled rows as consecutive batches, each a pair of fresh tensors (fitDataset disposes
 * them). model.fit would cut the same batches with a gather per batch, and gathers are slow on
 * the wasm and cpu backends (~0.2 s for an epoch of the income set): slicing the arrays in
 * JavaScript costs next to nothing, and the batches are the same, in the same order.
 */
function batchesOf(tf: Tf, rows: { x: Float32Array; y: Float32Array }, cols: number, batchSize: number) {
  const count = rows.y.length;
  return tf.data.generator(function* () {
    for (let start = 0; start < count; start += batchSize) {
      const end = Math.min(count, start + batchSize);
      yield {
        xs: tf.tensor2d(rows.x.subarray(start * cols, end * cols), [end - start, cols]),
        ys: tf.tensor2d(rows.y.subarray(start, end), [end - start, 1]),
      };
    }
  });
}

function toTensor(tf: Tf, x: FeatureMatrix): Tensor2D {
  return tf.tensor2d(x.data, [x.rows, x.cols], 'float32');
}

function binaryLogLoss(y: Float32Array, p: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const q = Math.min(Math.max(p[i] ?? 0, 1e-7), 1 - 1e-7);
    sum -= (y[i] ?? 0) > 0.5 ? Math.log(q) : Math.log(1 - q);
  }
  return sum / y.length;
}

function validationMetrics(y: Float32Array, p: Float32Array, regression: boolean): Record<string, number> {
  if (regression) {
    let se = 0;
    for (let i = 0; i < y.length; i++) se += ((y[i] ?? 0) - (p[i] ?? 0)) ** 2;
    return { val_loss: se / y.length };
  }
  let correct = 0;
  for (let i = 0; i < y.length; i++) if (((p[i] ?? 0) >= 0.5 ? 1 : 0) === (y[i] ?? 0)) correct += 1;
  return { val_loss: binaryLogLoss(y, p), val_accuracy: correct / y.length, val_auc: rocAuc(y, p) };
}

class MlpModel implements TrainedModel {
  readonly family = 'mlp';
  constructor(
    private readonly tf: Tf,
    private readonly model: LayersModel,
    readonly backend: TfBackendName,
    private readonly architecture: MlpArchitecture,
  ) {}

  async predict(x: FeatureMatrix): Promise<Float32Array> {
    if (x.rows === 0) return new Float32Array(0);
    const input = toTensor(this.tf, x);
    try {
      // One batch for the whole matrix: the default of 32 rows is ~90× slower on wasm.
      const output = this.model.predict(input, { batchSize: Math.max(x.rows, 1) }) as Tensor2D;
      const values = (await output.data()) as Float32Array;
      output.dispose();
      return values;
    } finally {
      input.dispose();
    }
  }

  async serialize(): Promise<ModelFiles> {
    let files: Map<string, Uint8Array> | undefined;
    await this.model.save(
      this.tf.io.withSaveHandler(async (artifacts) => {
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

  describe(): Record<string, unknown> {
    return { architecture: this.architecture };
  }

  dispose(): void {
    this.model.dispose();
  }
}

export const mlpFamily: ModelFamily<MlpParams> = {
  name: 'mlp',

  async fit(train: LabelledSet, validation: LabelledSet | undefined, params: MlpParams, options: FitOptions): Promise<FitResult> {
    const { tf, backend } = await loadTensorFlow(options.backend);
    const regression = options.problemType === 'regression';
    const model = buildModel(tf, train.x.cols, params, regression, options.seed);
    const xVal = validation === undefined ? undefined : toTensor(tf, validation.x);
    const shuffled = { x: new Float32Array(train.x.data.length), y: new Float32Array(train.y.length) };
    const rng = createRng(options.seed);
    const order = new Int32Array(train.x.rows).map((_, i) => i);
    const classWeight = regression || params.classWeight === 'none' ? undefined : balancedClassWeights(train.y);

    let bestLoss = Number.POSITIVE_INFINITY;
    let bestEpoch = 0;
    let bestWeights: import('@tensorflow/tfjs').Tensor[] | undefined;
    let epochsRun = 0;
    let stoppedEarly = false;
    const started = performance.now();
    try {
      for (let epoch = 1; epoch <= params.epochs; epoch++) {
        if (options.signal?.aborted === true) throw abortError(options.signal);
        // Our own seeded shuffle: tfjs shuffles with Math.random, which --seed cannot reach.
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          const t = order[i] as number;
          order[i] = order[j] as number;
          order[j] = t;
        }
        shuffleRows(train, order, shuffled);
        const history = await model.fitDataset(batchesOf(tf, shuffled, train.x.cols, params.batchSize), {
          epochs: 1,
          verbose: 0,
          ...(classWeight === undefined ? {} : { classWeight }),
        });
        epochsRun = epoch;

        const metrics: Record<string, number> = { train_loss: lastOf(history.history.loss) };
        if (!regression) metrics.train_accuracy = lastOf(history.history.acc ?? history.history.accuracy);
        let monitored = metrics.train_loss as number;
        if (validation !== undefined && xVal !== undefined) {
          const out = model.predict(xVal, { batchSize: validation.x.rows }) as Tensor2D;
          const p = (await out.data()) as Float32Array;
          out.dispose();
          Object.assign(metrics, validationMetrics(validation.y, p, regression));
          monitored = metrics.val_loss as number;
        }
        const elapsedMs = performance.now() - started;
        await options.onEpoch?.({
          epoch,
          epochs: params.epochs,
          metrics,
          elapsedMs,
          etaMs: (elapsedMs / epoch) * (params.epochs - epoch),
        });

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
    } catch (error) {
      model.dispose();
      throw error;
    } finally {
      bestWeights?.forEach((w) => w.dispose());
      xVal?.dispose();
    }
    return {
      model: new MlpModel(tf, model, backend, architectureOf(model, train.x.cols)),
      bestEpoch,
      epochsRun,
      stoppedEarly,
    };
  },

  async load(files: ModelFiles, _description: Record<string, unknown>, options: { backend?: string }): Promise<TrainedModel> {
    const { tf, backend } = await loadTensorFlow(options.backend);
    const modelJsonBytes = files.get('model.json');
    const weights = files.get('weights.bin');
    if (modelJsonBytes === undefined || weights === undefined) throw new Error('an MLP bundle needs model/model.json and model/weights.bin');
    const modelJson = JSON.parse(new TextDecoder().decode(modelJsonBytes)) as {
      modelTopology: object;
      weightsManifest: { weights: import('@tensorflow/tfjs').io.WeightsManifestEntry[] }[];
    };
    const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: buffer }));
    const inputs = (model.inputs[0]?.shape[1] as number | undefined) ?? 0;
    return new MlpModel(tf, model, backend, architectureOf(model, inputs));
  },
};

function lastOf(values: readonly (number | import('@tensorflow/tfjs').Tensor)[] | undefined): number {
  const value = values?.[values.length - 1];
  return typeof value === 'number' ? value : Number.NaN;
}

/** Inverse-frequency weights, as scikit-learn's class_weight="balanced". */
function balancedClassWeights(y: Float32Array): Record<number, number> {
  let positives = 0;
  for (const v of y) if (v > 0.5) positives += 1;
  const negatives = y.length - positives;
  return { 0: y.length / (2 * Math.max(negatives, 1)), 1: y.length / (2 * Math.max(positives, 1)) };
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('training interrupted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
