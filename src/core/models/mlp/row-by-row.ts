import type { DenseForward, DenseNetwork } from './dense-forward.js';

/**
 * `scoreRow(input, at, output, outAt)` reads one row, input[at .. at + network.inputs), and
 * writes its outputs to output[outAt .. outAt + network.outputs).
 */
export type ScoreRow = (input: Float32Array, at: number, output: Float32Array, outAt: number) => void;

/**
 * A forward pass that scores rows one at a time with `scoreRow`, into an output buffer it
 * owns and grows only for larger batches: `run` returns a view the next call overwrites.
 * Both kernels (dense-forward.ts, dense-simd.ts) are built on it.
 */
export function rowByRowForward(network: DenseNetwork, kernel: DenseForward['kernel'], scoreRow: ScoreRow): DenseForward {
  let output = new Float32Array(network.outputs * 64);
  return {
    network,
    kernel,
    run(input, rows) {
      const width = network.outputs;
      if (output.length < rows * width) output = new Float32Array(Math.max(rows * width, output.length * 2));
      for (let r = 0; r < rows; r++) scoreRow(input, r * network.inputs, output, r * width);
      return output.subarray(0, rows * width);
    },
  };
}
