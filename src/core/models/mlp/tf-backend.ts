import { importPackage } from '../../env/import-package.js';
import { UsageError } from '../../errors.js';

export type Tf = typeof import('@tensorflow/tfjs');

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

async function optionalImport<T>(specifier: string): Promise<T | null> {
  try {
    return await importPackage<T>(specifier);
  } catch {
    return null;
  }
}

const PROVIDERS: readonly TfBackendProvider[] = [
  {
    // Native libtensorflow bindings; an optional dependency that cannot install offline.
    name: 'node',
    async load() {
      const tf = await optionalImport<Tf>('@tensorflow/tfjs-node');
      if (tf === null) return null;
      return (await tf.setBackend('tensorflow')) ? tf : null;
    },
  },
  {
    name: 'wasm',
    async load() {
      const tf = await importPackage<Tf>('@tensorflow/tfjs');
      if ((await optionalImport('@tensorflow/tfjs-backend-wasm')) === null) return null;
      try {
        return (await tf.setBackend('wasm')) ? tf : null;
      } catch {
        return null;
      }
    },
  },
  {
    name: 'cpu',
    async load() {
      const tf = await importPackage<Tf>('@tensorflow/tfjs');
      return (await tf.setBackend('cpu')) ? tf : null;
    },
  },
];

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
        return { tf, backend: provider.name };
      }
    }
    throw new UsageError('TF_BACKEND_UNAVAILABLE', `the TensorFlow.js backend "${forced}" is not available on this machine`, {
      hint: forced === 'node' ? 'install @tensorflow/tfjs-node (needs internet to fetch libtensorflow), or use --backend wasm' : 'use --backend wasm or cpu',
    });
  })();
  return loaded;
}
