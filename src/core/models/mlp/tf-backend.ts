import { createRequire } from 'node:module';
import { UsageError } from '../../errors.js';

/**
 * The parts of TensorFlow.js mlctl uses: the core ops and the Layers API. The umbrella
 * `@tensorflow/tfjs` would also bring the WebGL backend, the converter and tfjs-data, none
 * of which mlctl runs.
 */
export type Tf = typeof import('@tensorflow/tfjs-core') & typeof import('@tensorflow/tfjs-layers');

/** The TensorFlow.js backends mlctl can run on, fastest first. */
export const TF_BACKENDS = ['node', 'wasm', 'cpu'] as const;
export type TfBackendName = (typeof TF_BACKENDS)[number];

export interface LoadedTf {
  readonly tf: Tf;
  readonly backend: TfBackendName;
}

/** One way of getting TensorFlow.js running; `load` returns null when unavailable here. */
interface TfBackendProvider {
  readonly name: TfBackendName;
  load(): Promise<Tf | null>;
}

/**
 * TensorFlow.js and its backends are CommonJS: required, not imported. An ESM import makes Node
 * lex tf.node.js and what it re-exports for named exports first, which took ~0.35 s of the
 * ~0.55 s TensorFlow.js costs to load (measured here); every command that trains pays it.
 */
const requirePackage = createRequire(import.meta.url);

function optionalRequire<T>(specifier: string): T | null {
  try {
    return requirePackage(specifier) as T;
  } catch {
    return null;
  }
}

/** Core and layers as one namespace, with the cpu backend registered (it is the fallback of every other). */
function requireTf(): Tf {
  const core = requirePackage('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
  const layers = requirePackage('@tensorflow/tfjs-layers') as typeof import('@tensorflow/tfjs-layers');
  requirePackage('@tensorflow/tfjs-backend-cpu');
  return { ...core, ...layers } as Tf;
}

const PROVIDERS: readonly TfBackendProvider[] = [
  {
    // Native libtensorflow bindings; an optional dependency that cannot install offline.
    name: 'node',
    async load() {
      const tf = optionalRequire<Tf>('@tensorflow/tfjs-node');
      if (tf === null) return null;
      return (await tf.setBackend('tensorflow')) ? tf : null;
    },
  },
  {
    name: 'wasm',
    async load() {
      const tf = requireTf();
      if (optionalRequire('@tensorflow/tfjs-backend-wasm') === null) return null;
      try {
        if (!(await tf.setBackend('wasm'))) return null;
      } catch {
        return null;
      }
      multiplyTransposedOnTheFastPath(tf);
      return tf;
    },
  },
  {
    name: 'cpu',
    async load() {
      const tf = requireTf();
      return (await tf.setBackend('cpu')) ? tf : null;
    },
  },
];

type KernelFunc = NonNullable<ReturnType<Tf['getKernel']>>['kernelFunc'];
type TensorInfo = NonNullable<Parameters<KernelFunc>[0]['inputs'][string]>;
type KernelBackend = { disposeData(dataId: object): boolean };

/** Kernels already wrapped by multiplyTransposedOnTheFastPath (the kernel registry is global). */
const wrappedKernels = new WeakSet<KernelFunc>();

/**
 * tfjs-backend-wasm multiplies matrices on XNNPACK (~13-15 GFLOP/s on the reference machine)
 * only when neither operand is transposed; with transposeA or transposeB it takes a path about
 * ten times slower (bench/matmul-wasm: 11-13 ms against 1.1 ms for a 512 × 108 × 128 product).
 * Backpropagation through a dense layer asks for exactly those products (xᵀ·dy for the
 * weights, dy·Wᵀ for the inputs), so they were most of the time `mlctl train income` spent. The
 * wrapped kernels transpose such an operand first (a copy that costs a fraction of the product)
 * and multiply on the fast path. Gradients are untouched: the tape records the operation as it
 * was called.
 */
function multiplyTransposedOnTheFastPath(tf: Tf): void {
  const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc;
  if (transpose === undefined) return;
  for (const kernelName of ['BatchMatMul', '_FusedMatMul']) {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (kernel === undefined || wrappedKernels.has(kernel.kernelFunc)) continue;
    const multiply = kernel.kernelFunc;
    const kernelFunc: KernelFunc = ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
      if (transposeA !== true && transposeB !== true) return multiply({ inputs, backend, attrs });
      const transposed: TensorInfo[] = [];
      const swapLastTwo = (x: TensorInfo): TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        perm.splice(-2, 2, perm.length - 1, perm.length - 2);
        const t = transpose({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
        transposed.push(t);
        return t;
      };
      try {
        const a = transposeA === true ? swapLastTwo(inputs.a as TensorInfo) : inputs.a;
        const b = transposeB === true ? swapLastTwo(inputs.b as TensorInfo) : inputs.b;
        return multiply({ inputs: { ...inputs, a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        for (const t of transposed) (backend as KernelBackend).disposeData(t.dataId);
      }
    };
    wrappedKernels.add(kernelFunc);
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ ...kernel, kernelFunc });
  }
}

let loaded: Promise<LoadedTf> | undefined;
let loadedFor: string | undefined;

export function parseBackendName(name: string): TfBackendName {
  const normalized = name === 'tensorflow' ? 'node' : name;
  if ((TF_BACKENDS as readonly string[]).includes(normalized)) return normalized as TfBackendName;
  throw new UsageError('TF_BACKEND_UNKNOWN', `unknown TensorFlow.js backend "${name}"`, {
    hint: `use one of ${TF_BACKENDS.join(', ')} (--backend or MLCTL_TF_BACKEND)`,
  });
}

/**
 * Loads TensorFlow.js on the fastest backend available (node, then wasm, then cpu), or
 * on `forced` when given — refusing to fall back silently from a backend that was asked for.
 * Imported lazily: TensorFlow.js costs about half a second to import.
 */
export function loadTensorFlow(forced?: string): Promise<LoadedTf> {
  const key = forced ?? 'auto';
  if (loaded !== undefined && loadedFor === key) return loaded;
  loadedFor = key;
  loaded = (async () => {
    const candidates = forced === undefined ? PROVIDERS : PROVIDERS.filter((p) => p.name === parseBackendName(forced));
    for (const provider of candidates) {
      const tf = await provider.load();
      if (tf !== null) {
        await tf.ready();
        // Production mode silences TensorFlow.js's console chatter (the cpu backend's "install
        // tfjs-node" banner, among others) in mlctl's output; it changes no computation.
        tf.enableProdMode();
        return { tf, backend: provider.name };
      }
    }
    throw new UsageError('TF_BACKEND_UNAVAILABLE', `the TensorFlow.js backend "${forced}" is not available on this machine`, {
      hint: forced === 'node' ? 'install @tensorflow/tfjs-node (needs internet to fetch libtensorflow), or use --backend wasm' : 'use --backend wasm or cpu',
    });
  })();
  return loaded;
}
