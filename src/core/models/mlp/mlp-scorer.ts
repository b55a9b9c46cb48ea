/**
 * Scoring an MLP bundle: the lean forward pass (dense-forward.ts: WebAssembly SIMD, else plain
 * JavaScript) when the network is a plain stack of Dense layers, which is what mlctl trains;
 * TensorFlow.js, imported only then, for anything else.
 */
import { UsageError } from '../../errors.js';
import type { LoadOptions, ModelFiles, Scorer } from '../model-family.js';
import { createDenseForward, parseDenseNetwork, UnsupportedNetworkError } from './dense-forward.js';

const MODEL_JSON = 'model.json';
const WEIGHTS = 'weights.bin';

export async function loadMlpScorer(files: ModelFiles, options: LoadOptions): Promise<Scorer> {
  const modelJson = files.get(MODEL_JSON);
  const weights = files.get(WEIGHTS);
  if (modelJson === undefined || weights === undefined) {
    throw new UsageError('BUNDLE_INVALID', `an MLP bundle needs model/${MODEL_JSON} and model/${WEIGHTS}`);
  }
  try {
    const network = parseDenseNetwork(modelJson, weights);
    if (network.inputs !== options.width) throw new UnsupportedNetworkError(`the network takes ${network.inputs} features, the pipeline makes ${options.width}`);
    const forward = createDenseForward(network);
    return { kind: forward.kernel === 'simd' ? 'mlp-simd' : 'mlp-js', outputs: network.outputs, score: (features, rows) => forward.run(features, rows), dispose: () => {} };
  } catch (error) {
    if (!(error instanceof UnsupportedNetworkError)) throw error;
    options.onFallback?.(error.message);
  }
  return loadTensorFlowScorer(modelJson, weights, options);
}

async function loadTensorFlowScorer(modelJsonBytes: Uint8Array, weights: Uint8Array, options: LoadOptions): Promise<Scorer> {
  const { loadTensorFlow } = await import('./tf-backend.js');
  const { tf } = await loadTensorFlow(options.backend);
  const modelJson = JSON.parse(new TextDecoder().decode(modelJsonBytes)) as {
    modelTopology: object;
    weightsManifest: { weights: import('@tensorflow/tfjs-core').io.WeightsManifestEntry[] }[];
  };
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: buffer }));
  const outputs = (model.outputs[0]?.shape[1] as number | undefined) ?? 1;
  const width = options.width;
  return {
    kind: 'tfjs',
    outputs,
    async score(features, rows) {
      if (rows === 0) return new Float32Array(0);
      // The model may keep a reference to its input: give it its own copy.
      const input = tf.tensor2d(features.slice(0, rows * width), [rows, width], 'float32');
      try {
        // One batch for the whole matrix: the default of 32 rows is ~90× slower on wasm.
        const output = model.predict(input, { batchSize: rows }) as import('@tensorflow/tfjs-core').Tensor;
        const values = (await output.data()) as Float32Array;
        output.dispose();
        return values;
      } finally {
        input.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
