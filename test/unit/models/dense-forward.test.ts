import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/core/random.js';
import { loadTensorFlow } from '../../../src/core/models/mlp/tf-backend.js';
import { createDenseForward, parseDenseNetwork, UnsupportedNetworkError } from '../../../src/core/models/mlp/dense-forward.js';
import { loadServedModel } from '../../../src/core/serving/served-model.js';
import { denseModelFiles, writeIncomeBundle } from '../serving/fixture.js';

type Tf = import('../../../src/core/models/mlp/tf-backend.js').Tf;
let tf: Tf;

beforeAll(async () => {
  tf = (await loadTensorFlow('cpu')).tf;
}, 60_000);

/** Saves a tfjs model the way the MLP family writes bundles: model.json + weights.bin. */
async function saveLayers(model: import('@tensorflow/tfjs-layers').LayersModel): Promise<{ json: Uint8Array; weights: Uint8Array }> {
  let files: { json: Uint8Array; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      files = {
        json: new TextEncoder().encode(JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] })),
        weights: new Uint8Array(data),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return files!;
}

/** Rows like the income features: a few numbers, then sparse one-hot blocks. */
function inputRows(rows: number, cols: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) x[r * cols + c] = c < 6 ? (rng() - 0.5) * 6 : rng() < 0.15 ? 1 : 0;
  }
  return x;
}

/** The worst difference from TensorFlow.js over a batch, of both kernels (SIMD and JavaScript). */
async function compareWithTf(layers: import('@tensorflow/tfjs-layers').layers.Layer[], cols: number, rows = 257): Promise<number> {
  const model = tf.sequential({ layers });
  const { json, weights } = await saveLayers(model);
  const x = inputRows(rows, cols, 11);
  const expected = (await (model.predict(tf.tensor2d(x, [rows, cols])) as import('@tensorflow/tfjs-core').Tensor).data()) as Float32Array;
  model.dispose();
  let worst = 0;
  for (const kernel of ['simd', 'js'] as const) {
    const forward = createDenseForward(parseDenseNetwork(json, weights), { kernel });
    expect(forward.kernel).toBe(kernel);
    const actual = forward.run(x, rows);
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  return worst;
}

describe('lean dense forward pass, against TensorFlow.js', () => {
  it('matches the income shape (relu, relu, sigmoid) to 1e-5 on a batch', async () => {
    const worst = await compareWithTf(
      [
        tf.layers.dense({ units: 64, activation: 'relu', inputShape: [105] }),
        tf.layers.dense({ units: 32, activation: 'relu' }),
        tf.layers.dense({ units: 1, activation: 'sigmoid' }),
      ],
      105,
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it('matches widths that are not multiples of 4 or 16, and a softmax output, to 1e-5', async () => {
    const worst = await compareWithTf(
      [
        tf.layers.dense({ units: 37, activation: 'relu', inputShape: [53] }),
        tf.layers.dense({ units: 21, activation: 'relu' }),
        tf.layers.dense({ units: 5, activation: 'tanh' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
      53,
    );
    expect(worst).toBeLessThan(1e-5);
  });

  it('the SIMD kernel agrees with the JavaScript loop on the income shape, rows of zeros and NaN included', () => {
    const files = denseModelFiles(98, [{ units: 128, activation: 'relu' }, { units: 64, activation: 'relu' }, { units: 1, activation: 'sigmoid' }], 7);
    const network = parseDenseNetwork(files.get('model.json')!, files.get('weights.bin')!);
    const simd = createDenseForward(network);
    const js = createDenseForward(network, { kernel: 'js' });
    expect(simd.kernel).toBe('simd');
    const x = inputRows(64, 98, 9);
    x.fill(0, 0, 98); // a row of zeros: the bias alone
    x[98 + 3] = Number.NaN; // NaN propagates, as in TensorFlow.js
    const a = Float32Array.from(simd.run(x, 64));
    const b = Float32Array.from(js.run(x, 64));
    expect(Number.isNaN(a[1]!)).toBe(true);
    expect(Number.isNaN(b[1]!)).toBe(true);
    for (let i = 0; i < 64; i++) if (i !== 1) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-6);
  });

  for (const activation of ['tanh', 'elu', 'selu', 'softplus', 'softsign', 'linear', 'relu6', 'hardSigmoid', 'swish'] as const) {
    it(`matches ${activation} hidden layers (with dropout and a bias-less layer) to 1e-5`, async () => {
      const worst = await compareWithTf(
        [
          tf.layers.dense({ units: 24, activation, inputShape: [30] }),
          tf.layers.dropout({ rate: 0.3 }),
          tf.layers.dense({ units: 12, activation, useBias: false }),
          tf.layers.dense({ units: 1, activation: 'linear' }),
        ],
        30,
        64,
      );
      expect(worst).toBeLessThan(1e-5);
    });
  }

  for (const kernel of ['simd', 'js'] as const) {
    it(`reuses its output buffer and answers batches of any size (${kernel})`, () => {
      const files = denseModelFiles(10, [{ units: 4, activation: 'relu' }, { units: 1, activation: 'sigmoid' }], 3);
      const forward = createDenseForward(parseDenseNetwork(files.get('model.json')!, files.get('weights.bin')!), { kernel });
      const x = inputRows(300, 10, 5);
      const batch = Float32Array.from(forward.run(x, 300));
      // Row by row gives the same numbers: rows do not leak into each other.
      for (const r of [0, 1, 150, 299]) expect(forward.run(x.subarray(r * 10, r * 10 + 10), 1)[0]).toBe(batch[r]);
      expect(forward.run(x, 0).length).toBe(0);
    });
  }

  it('refuses what it cannot run, so the daemon falls back to TensorFlow.js', () => {
    const bad = (mutate: (json: { modelTopology: { config: { layers: Record<string, unknown>[] } }; weightsManifest: { weights: Record<string, unknown>[] }[] }) => void, weights?: Uint8Array) => {
      const files = denseModelFiles(6, [{ units: 3, activation: 'relu' }, { units: 1, activation: 'sigmoid' }], 1);
      const json = JSON.parse(new TextDecoder().decode(files.get('model.json')!));
      mutate(json);
      return () => parseDenseNetwork(new TextEncoder().encode(JSON.stringify(json)), weights ?? files.get('weights.bin')!);
    };
    expect(bad((j) => j.modelTopology.config.layers.splice(1, 0, { class_name: 'BatchNormalization', config: {} }))).toThrow(/BatchNormalization/);
    expect(bad((j) => ((j.modelTopology.config.layers[1]!.config as Record<string, unknown>).activation = 'gelu_new'))).toThrow(/gelu_new/);
    expect(bad((j) => (j.weightsManifest[0]!.weights[0]!.dtype = 'float16'))).toThrow(UnsupportedNetworkError);
    expect(bad((j) => (j.weightsManifest[0]!.weights[0]!.quantization = { dtype: 'uint8' }))).toThrow(/quantized/);
    expect(bad(() => {}, new Uint8Array(12))).toThrow(/weights.bin holds 12 bytes/);
    expect(bad((j) => (j.weightsManifest[0]!.weights[0]!.shape = [7, 3]))).toThrow(UnsupportedNetworkError);
  });

  // Last: the family's loader switches TensorFlow.js to its own backend.
  it('a bundle the lean path cannot run is served through TensorFlow.js instead, with the same numbers', async () => {
    let reference: import('@tensorflow/tfjs-layers').LayersModel | undefined;
    const bundle = await writeIncomeBundle({
      seed: 4,
      modelFiles: async (inputs) => {
        reference = tf.sequential({
          layers: [tf.layers.dense({ units: 8, activation: 'relu', inputShape: [inputs] }), tf.layers.batchNormalization(), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
        });
        const { json, weights } = await saveLayers(reference);
        return new Map([['model.json', json], ['weights.bin', weights]]);
      },
    });
    try {
      const reasons: string[] = [];
      const model = await loadServedModel({ bundleDir: bundle.dir, source: { kind: 'path' } }, { backend: 'cpu', onFallback: (reason) => reasons.push(reason) });
      expect(model.scorer.kind).toBe('tfjs');
      expect(reasons[0]).toMatch(/BatchNormalization/);
      const x = inputRows(5, model.width, 2);
      const expected = (await (reference!.predict(tf.tensor2d(x, [5, model.width])) as import('@tensorflow/tfjs-core').Tensor).data()) as Float32Array;
      const actual = await model.scorer.score(x, 5);
      for (let i = 0; i < 5; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-5);
      model.scorer.dispose();
    } finally {
      bundle.cleanup();
    }
  });
});
