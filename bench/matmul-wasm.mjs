// bench/matmul-wasm: the matrix products of one training step of the income MLP's first layer
// (a batch of 512 rows × 108 features, 128 units) on tfjs's wasm backend, as tfjs ships it and
// with mlctl's kernels (src/core/models/mlp/tf-backend.ts: a transposed operand is transposed
// first, so the product runs on XNNPACK's fast path). Backpropagation asks for the transposed
// products. Prints one JSON document: ms per product (median of BENCH_RUNS rounds) and GFLOP/s.
import { createRequire } from 'node:module';
import { machine, median, REPO_ROOT, round } from './lib.mjs';

const require = createRequire(`${REPO_ROOT}/package.json`);
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
require('@tensorflow/tfjs-backend-wasm');
const rounds = Number(process.env.BENCH_RUNS ?? 7);
const [rows, features, units] = [512, 108, 128];
const flop = 2 * rows * features * units;

function measure() {
  const x = tf.randomNormal([rows, features]);
  const w = tf.randomNormal([features, units]);
  const dy = tf.randomNormal([rows, units]);
  const products = {
    'x·W (forward)': () => tf.matMul(x, w),
    'xᵀ·dy (weight gradient, transposeA)': () => tf.matMul(x, dy, true, false),
    'dy·Wᵀ (input gradient, transposeB)': () => tf.matMul(dy, w, false, true),
  };
  const out = {};
  for (const [name, product] of Object.entries(products)) {
    const perRound = [];
    for (let r = 0; r < rounds + 1; r += 1) {
      const started = performance.now();
      for (let i = 0; i < 20; i += 1) {
        const c = product();
        c.dataSync();
        c.dispose();
      }
      if (r > 0) perRound.push((performance.now() - started) / 20); // round 0 warms up
    }
    const ms = median(perRound);
    out[name] = { msPerProduct: round(ms, 3), gflops: round(flop / ms / 1e6, 2) };
  }
  tf.dispose([x, w, dy]);
  return out;
}

await tf.setBackend('wasm');
await tf.ready();
const asShipped = measure();
const { loadTensorFlow } = await import('../dist/core/models/mlp/tf-backend.js');
const { backend } = await loadTensorFlow('wasm');
const withMlctlKernels = measure();
const slowest = (figures) => Math.max(...Object.values(figures).map((f) => f.msPerProduct));
console.log(
  JSON.stringify(
    {
      benchmark: 'matmul-wasm',
      machine: machine(),
      backend,
      shape: { rows, features, units },
      tfjsAsShipped: asShipped,
      mlctlKernels: withMlctlKernels,
      slowestProductSpeedup: round(slowest(asShipped) / slowest(withMlctlKernels), 1),
    },
    null,
    2,
  ),
);
