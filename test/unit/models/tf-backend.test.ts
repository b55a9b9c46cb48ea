import { describe, expect, it, vi } from 'vitest';
import { loadTensorFlow } from '../../../src/core/models/mlp/tf-backend.js';

// On wasm, mlctl wraps the matrix-product kernels so that a transposed operand is transposed
// explicitly and the product runs on XNNPACK's fast path (see tf-backend.ts). The products must
// be the same as without the wrapper, for every combination of transposes and for batches.
describe('the wasm backend with transposed products on the fast path', () => {
  it('multiplies as written out in JavaScript, whatever is transposed', async () => {
    const { tf, backend } = await loadTensorFlow('wasm');
    expect(backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const a = tf.tensor3d(Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.sin(i + 1)), [2, 5, 3]);
    const b = tf.tensor3d(Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.cos(i + 1)), [2, 3, 4]);
    const cases: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
    for (const [transposeA, transposeB] of cases) {
      // The operands stored transposed, so that the product asked for is a·b every time.
      const left = transposeA ? tf.transpose(a, [0, 2, 1]) : a;
      const right = transposeB ? tf.transpose(b, [0, 2, 1]) : b;
      // Reference: a·b written out in JavaScript.
      const [l, r] = [a.arraySync(), b.arraySync()];
      const expected = [0, 1].map((n) => [0, 1, 2, 3, 4].map((i) => [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, k) => s + (l[n]![i]![k]! * r[n]![k]![j]!), 0))));
      const product = tf.matMul(left, right, transposeA, transposeB);
      const values = product.arraySync() as number[][][];
      for (let n = 0; n < 2; n++) for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expect(values[n]![i]![j]).toBeCloseTo(expected[n]![i]![j]!, 5);
      // The fused kernel (a dense layer's forward pass) takes the same attributes.
      const fused = tf.fused.matMul({ a: left, b: right, transposeA, transposeB, activation: 'relu' });
      const fusedValues = fused.arraySync() as number[][][];
      for (let n = 0; n < 2; n++) for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expect(fusedValues[n]![i]![j]).toBeCloseTo(Math.max(0, expected[n]![i]![j]!), 5);
      tf.dispose([product, fused, ...(transposeA ? [left] : []), ...(transposeB ? [right] : [])]);
    }
    tf.dispose([a, b]);
  });

  it('leaves no tensor behind: the transposed copies are freed', async () => {
    const { tf } = await loadTensorFlow('wasm');
    const x = tf.randomNormal([64, 16]);
    const dy = tf.randomNormal([64, 8]);
    // The copies live in the backend, below the engine's tensor count: count the backend's data.
    const before = tf.backend().numDataIds();
    for (let i = 0; i < 10; i++) tf.matMul(x, dy, true, false).dispose();
    expect(tf.backend().numDataIds()).toBe(before);
    tf.dispose([x, dy]);
  });
});

describe('TensorFlow.js in mlctl', () => {
  it("prints nothing of its own: no 'install tfjs-node' banner on the cpu backend", async () => {
    const warn = vi.spyOn(console, 'warn');
    const log = vi.spyOn(console, 'log');
    try {
      const { tf, backend } = await loadTensorFlow('cpu');
      expect(backend).toBe('cpu');
      tf.tensor1d([1, 2, 3]).dispose(); // the banner comes with the cpu backend's first tensor
      expect([...warn.mock.calls, ...log.mock.calls]).toEqual([]);
    } finally {
      warn.mockRestore();
      log.mockRestore();
    }
  });
});
