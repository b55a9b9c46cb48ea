/**
 * The MLP family: a Keras-style dense network on TensorFlow.js. This descriptor is cheap to
 * import; fitting loads TensorFlow.js (mlp-training.ts) and scoring runs a lean JavaScript
 * forward pass (mlp-scorer.ts).
 */
import type { ModelFamily } from '../model-family.js';
import type { ParamSpecs } from '../model-params.js';
import { TF_BACKENDS } from './tf-backend.js';

export interface MlpParams {
  readonly hiddenLayers: readonly number[];
  readonly activation: 'relu' | 'tanh' | 'elu' | 'sigmoid';
  readonly dropout: number;
  readonly optimizer: 'adam' | 'sgd' | 'rmsprop' | 'adagrad';
  readonly learningRate: number;
  readonly batchSize: number;
  readonly epochs: number;
  /** Early stopping: epochs without a val_loss improvement before stopping; best weights restored. */
  readonly patience: number;
  /** 'balanced' weighs classes by inverse frequency. */
  readonly classWeight: 'none' | 'balanced';
  readonly l2: number;
}

/**
 * Keras-like defaults for a table nobody has tuned for: two hidden layers, Adam at its usual
 * rate, batches of 64, and early stopping that restores the best epoch, so `epochs` is only a
 * ceiling. The built-in income task keeps its own tuned values.
 */
const MLP_PARAMS: ParamSpecs = {
  hiddenLayers: { type: 'int-list', default: [128, 64], min: 1, max: 4096, minItems: 0, maxItems: 16, description: 'hidden layer sizes, e.g. 64,32' },
  activation: { type: 'choice', default: 'relu', choices: ['relu', 'tanh', 'elu', 'sigmoid'], description: 'hidden activation' },
  dropout: { type: 'number', default: 0, min: 0, max: 1, exclusiveMax: true, description: 'dropout after each hidden layer, 0 to disable' },
  optimizer: { type: 'choice', default: 'adam', choices: ['adam', 'sgd', 'rmsprop', 'adagrad'], description: 'optimizer' },
  learningRate: { type: 'number', default: 0.001, min: 0, max: 10, exclusiveMin: true, description: 'optimizer learning rate' },
  batchSize: { type: 'int', default: 64, min: 1, max: 1_048_576, description: 'mini-batch size' },
  epochs: { type: 'int', default: 100, min: 1, max: 100_000, description: 'maximum epochs' },
  patience: { type: 'int', default: 5, min: 0, max: 100_000, description: 'early stopping: epochs without val_loss improvement (0: off); best weights restored' },
  classWeight: { type: 'choice', default: 'none', choices: ['none', 'balanced'], description: 'class weights' },
  l2: { type: 'number', default: 0, min: 0, max: 10, description: 'L2 weight penalty' },
};

export const mlpFamily: ModelFamily = {
  name: 'mlp',
  description: 'a dense neural network (Keras-style, on TensorFlow.js)',
  problemTypes: ['binary-classification', 'multiclass-classification', 'regression'],
  params: MLP_PARAMS,
  backends: TF_BACKENDS,
  async fit(train, validation, params, options) {
    const { fitMlp } = await import('./mlp-training.js');
    return fitMlp(train, validation, params as unknown as MlpParams, options);
  },
  async load(files, options) {
    const { loadMlpScorer } = await import('./mlp-scorer.js');
    return loadMlpScorer(files, options);
  },
};
