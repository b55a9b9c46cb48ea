/**
 * The dense forward pass as a WebAssembly SIMD kernel: four float32 lanes per instruction,
 * sixteen units per pass over a row's nonzero inputs, weights in float32 as TensorFlow.js
 * keeps them (and sums in float32 as it does). On the income MLP it scores a row several
 * times faster than the plain JavaScript loop (bench/serve.mjs and docs/design.md, "Serving
 * speed"), and its weights take half the cache.
 *
 * The module is assembled here, byte by byte, from the instruction list below: one exported
 * function, `dense`, and the memory it works in. It needs no tool at build time and no file
 * at run time. Where WebAssembly is missing (node --jitless), createSimdForward returns
 * undefined and the JavaScript pass (dense-forward.ts) runs instead.
 */
import type { DenseForward, DenseNetwork } from './dense-forward.js';
import { rowByRowForward } from './row-by-row.js';

// ---- the few WebAssembly encodings the kernel uses ----

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const VOID = 0x40;

function unsigned(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signed(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A SIMD instruction: the 0xfd prefix, then its number in LEB128. */
const simd = (op: number, ...immediates: number[]): number[] => [0xfd, ...unsigned(op), ...immediates];
/** A memory access: alignment (log2 bytes) and a constant offset. */
const memarg = (align: number, offset: number): number[] => [...unsigned(align), ...unsigned(offset)];

const op = {
  block: [0x02, VOID],
  loop: [0x03, VOID],
  if: [0x04, VOID],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...unsigned(depth)],
  brIf: (depth: number) => [0x0d, ...unsigned(depth)],
  get: (local: number) => [0x20, ...unsigned(local)],
  set: (local: number) => [0x21, ...unsigned(local)],
  tee: (local: number) => [0x22, ...unsigned(local)],
  i32Load: (offset: number) => [0x28, ...memarg(2, offset)],
  f32Load: (offset: number) => [0x2a, ...memarg(2, offset)],
  i32Store: (offset: number) => [0x36, ...memarg(2, offset)],
  f32Store: (offset: number) => [0x38, ...memarg(2, offset)],
  i32Const: (n: number) => [0x41, ...signed(n)],
  f32Zero: [0x43, 0, 0, 0, 0],
  i32GtU: [0x4b],
  i32GeU: [0x4f],
  f32Ne: [0x5c],
  i32Add: [0x6a],
  i32Shl: [0x74],
  v128Load: (offset: number) => simd(0x00, ...memarg(4, offset)),
  v128Store: (offset: number) => simd(0x0b, ...memarg(4, offset)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  f32x4Splat: simd(0x13),
  f32x4Add: simd(0xe4),
  f32x4Mul: simd(0xe6),
  f32x4Max: simd(0xe9),
};

// ---- the kernel ----

// Parameters (all i32 byte addresses or counts).
const KERNEL = 0; // the layer's weights, [inputs][units rounded up to 4], row by row; walked as the row pointer
const BIAS = 1; // [units rounded up to 4]
const INPUTS = 2;
const UNIT_BYTES = 3; // 4 × units rounded up to 4
const SRC = 4; // the input row, float32; walked as the read pointer
const DST = 5; // the output row
const NZ = 6; // scratch: (row pointer i32, value f32) per nonzero input
const RELU = 7; // 1: relu, 0: linear (other activations are applied after, in JavaScript)
// Locals.
const SRC_END = 8;
const P = 9; // the nonzero list's write pointer
const NZ_END = 10;
const J = 11; // byte offset of the current units
const Q = 12; // the nonzero list's read pointer
const AT = 13; // an address
const X = 14; // f32
const A = [15, 16, 17, 18]; // four v128 accumulators
const XV = 19; // v128: the input value in every lane

/** acc += x × weights[AT + offset .. +16) */
const multiplyAdd = (acc: number, offset: number): number[] => [...op.get(acc), ...op.get(XV), ...op.get(AT), ...op.v128Load(offset), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(acc)];

/** `lanes` accumulators (1 or 4, i.e. 4 or 16 units) from the bias, summed over the nonzeros, relu'd, stored. */
function unitsPass(lanes: number): number[] {
  const accs = A.slice(0, lanes);
  return [
    ...op.get(BIAS), ...op.get(J), ...op.i32Add, ...op.set(AT),
    ...accs.flatMap((acc, k) => [...op.get(AT), ...op.v128Load(16 * k), ...op.set(acc)]),
    ...op.get(NZ), ...op.set(Q),
    ...op.block, ...op.loop,
    ...op.get(Q), ...op.get(NZ_END), ...op.i32GeU, ...op.brIf(1),
    ...op.get(Q), ...op.f32Load(4), ...op.f32x4Splat, ...op.set(XV),
    ...op.get(Q), ...op.i32Load(0), ...op.get(J), ...op.i32Add, ...op.set(AT),
    ...accs.flatMap((acc, k) => multiplyAdd(acc, 16 * k)),
    ...op.get(Q), ...op.i32Const(8), ...op.i32Add, ...op.set(Q),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.get(RELU), ...op.if,
    ...accs.flatMap((acc) => [...op.get(acc), ...op.v128Zero, ...op.f32x4Max, ...op.set(acc)]),
    ...op.end,
    ...op.get(DST), ...op.get(J), ...op.i32Add, ...op.set(AT),
    ...accs.flatMap((acc, k) => [...op.get(AT), ...op.get(acc), ...op.v128Store(16 * k)]),
    ...op.get(J), ...op.i32Const(16 * lanes), ...op.i32Add, ...op.set(J),
  ];
}

/**
 * dense(kernel, bias, inputs, unitBytes, src, dst, nz, relu): dst = act(src · kernel + bias).
 * First the nonzero inputs are listed with their weight rows (one-hot inputs and relu
 * outputs are mostly zeros; NaN is kept, so it propagates), then sixteen units at a time
 * are summed over the list, then the last units four at a time.
 */
const DENSE_BODY: number[] = [
  // locals: six i32, one f32, five v128
  3, 6, I32, 1, F32, 5, V128,
  // SRC_END = SRC + 4 × INPUTS; P = NZ
  ...op.get(SRC), ...op.get(INPUTS), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.set(SRC_END),
  ...op.get(NZ), ...op.set(P),
  ...op.block, ...op.loop,
  ...op.get(SRC), ...op.get(SRC_END), ...op.i32GeU, ...op.brIf(1),
  ...op.get(SRC), ...op.f32Load(0), ...op.tee(X), ...op.f32Zero, ...op.f32Ne,
  ...op.if,
  ...op.get(P), ...op.get(KERNEL), ...op.i32Store(0),
  ...op.get(P), ...op.get(X), ...op.f32Store(4),
  ...op.get(P), ...op.i32Const(8), ...op.i32Add, ...op.set(P),
  ...op.end,
  ...op.get(SRC), ...op.i32Const(4), ...op.i32Add, ...op.set(SRC),
  ...op.get(KERNEL), ...op.get(UNIT_BYTES), ...op.i32Add, ...op.set(KERNEL),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(P), ...op.set(NZ_END),
  ...op.i32Const(0), ...op.set(J),
  // Sixteen units at a time while they fit: while J + 64 <= UNIT_BYTES.
  ...op.block, ...op.loop,
  ...op.get(J), ...op.i32Const(64), ...op.i32Add, ...op.get(UNIT_BYTES), ...op.i32GtU, ...op.brIf(1),
  ...unitsPass(4),
  ...op.br(0),
  ...op.end, ...op.end,
  // Then four at a time.
  ...op.block, ...op.loop,
  ...op.get(J), ...op.get(UNIT_BYTES), ...op.i32GeU, ...op.brIf(1),
  ...unitsPass(1),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.end,
];

const section = (id: number, content: number[]): number[] => [id, ...unsigned(content.length), ...content];
const name = (text: string): number[] => [...unsigned(text.length), ...new TextEncoder().encode(text)];

/** The module: one function type (eight i32 → nothing), one function, one memory, both exported. */
export function denseModuleBytes(): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 8, ...new Array<number>(8).fill(I32), 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('dense'), 0x00, 0, ...name('memory'), 0x02, 0]),
    ...section(10, [1, ...unsigned(DENSE_BODY.length), ...DENSE_BODY]),
  ]);
}

/** The part of the WebAssembly API used here (Node's types do not declare it as a value). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

let compiled: object | null | undefined;

/** The compiled module, once per process; null where WebAssembly (or its SIMD) is unavailable. */
function denseModule(): object | null {
  if (compiled === undefined) {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      compiled = wasm === undefined ? null : new wasm.Module(denseModuleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

type DenseFn = (kernel: number, bias: number, inputs: number, unitBytes: number, src: number, dst: number, nz: number, relu: number) => void;

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * A forward pass running `network` in the SIMD kernel, or undefined where it cannot run
 * (no WebAssembly, or a network too large for its memory). `applyActivation(activation,
 * values)` applies a layer's activation in place when it is not relu or linear (the kernel
 * does those two).
 */
export function createSimdForward(
  network: DenseNetwork,
  applyActivation: (activation: string, values: Float32Array) => void,
): DenseForward | undefined {
  const module = denseModule();
  if (module === null) return undefined;
  const instance = new (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly.Instance(module);
  const memory = instance.exports.memory as WasmMemory;
  const dense = instance.exports.dense as DenseFn;

  // The layout: each layer's kernel and bias (units padded to a multiple of 4 with zero
  // weights), then two activation rows and the nonzero list.
  let cursor = 0;
  const placed = network.layers.map((layer) => {
    const padded = Math.ceil(layer.units / 4) * 4;
    const kernel = cursor;
    cursor += align16(layer.inputs * padded * 4);
    const bias = cursor;
    cursor += align16(padded * 4);
    return { layer, padded, kernel, bias, relu: layer.activation === 'relu' ? 1 : 0 };
  });
  const widest = Math.max(network.inputs, ...placed.map((p) => p.padded));
  const rowA = cursor;
  cursor += align16(widest * 4);
  const rowB = cursor;
  cursor += align16(widest * 4);
  const nz = cursor;
  cursor += align16(widest * 8);
  const pages = Math.ceil(cursor / 65_536);
  try {
    if (pages > 1) memory.grow(pages - 1);
  } catch {
    return undefined; // past WebAssembly's memory limit: the JavaScript loop runs it
  }
  const heap = new Float32Array(memory.buffer);
  for (const p of placed) {
    const { inputs, units, kernel, bias } = p.layer;
    for (let i = 0; i < inputs; i++) heap.set(kernel.subarray(i * units, (i + 1) * units), p.kernel / 4 + i * p.padded);
    if (bias !== null) heap.set(bias, p.bias / 4);
  }
  const inplace = placed.map((p) => (p.layer.activation === 'relu' || p.layer.activation === 'linear' ? null : p.layer.activation));
  const views = placed.map((p) => [heap.subarray(rowA / 4, rowA / 4 + p.layer.units), heap.subarray(rowB / 4, rowB / 4 + p.layer.units)] as const);
  const layerCount = placed.length;
  const inputs = network.inputs;
  const outWidth = network.outputs;
  const rowAIndex = rowA / 4;
  return rowByRowForward(network, 'simd', (input, at, output, outAt) => {
    for (let i = 0; i < inputs; i++) heap[rowAIndex + i] = input[at + i]!;
    let src = rowA;
    let dst = rowB;
    for (let l = 0; l < layerCount; l++) {
      const p = placed[l]!;
      dense(p.kernel, p.bias, p.layer.inputs, p.padded * 4, src, dst, nz, p.relu);
      const activation = inplace[l];
      if (activation !== null && activation !== undefined) applyActivation(activation, views[l]![dst === rowA ? 0 : 1]);
      const t = src;
      src = dst;
      dst = t;
    }
    const from = src / 4;
    for (let j = 0; j < outWidth; j++) output[outAt + j] = heap[from + j]!;
  });
}
