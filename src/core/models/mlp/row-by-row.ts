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
  const width = network.outputs;
  let output = new Float32Array(width * 64);
  // The view of the last call's rows, reused while the row count repeats (a view costs an allocation).
  let view = output.subarray(0, width);
  return {
    network,
    kernel,
    run(input, rows) {
      if (output.length < rows * width) {
        output = new Float32Array(Math.max(rows * width, output.length * 2));
        view = output.subarray(0, rows * width);
      } else if (view.length !== rows * width) {
        view = output.subarray(0, rows * width);
      }
      for (let r = 0; r < rows; r++) scoreRow(input, r * network.inputs, output, r * width);
      return view;
    },
  };
}
