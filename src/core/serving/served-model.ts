import { join } from 'node:path';
import { loadBundle } from '../bundle/model-bundle.js';
import { MANIFEST_FILE, MODEL_DIR, type BundleManifest } from '../bundle/bundle-manifest.js';
import { sha256File } from '../fs/hash.js';
import { parsePipeline } from '../features/pipeline.js';
import { compiledPipeline } from '../features/compiled-pipeline.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import type { ResolvedModel } from '../tracking/model-reference.js';
import { createDenseForward, parseDenseNetwork, UnsupportedNetworkError } from './mlp-inference.js';

/**
 * Turns a feature matrix into model outputs (P(positive) or the value). The lean scorers
 * are synchronous and return a view on a buffer the next call overwrites, so a caller
 * reads the result before it yields; the TensorFlow.js fallback returns a promise.
 */
export interface Scorer {
  /** 'mlp-js' (lean forward pass), 'tfjs' (the model family on TensorFlow.js), 'family' (another family's own predict). */
  readonly kind: string;
  score(features: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  dispose(): void;
}

/** A verified bundle ready to serve, with the identity responses and metrics report. */
export interface ServedModel {
  /** The registry name when served from the registry, else the task name. */
  readonly name: string;
  /** The registry version, else the run id (else the manifest's SHA-256, shortened). */
  readonly version: string;
  readonly runId: string | null;
  readonly bundleDir: string;
  /** SHA-256 of manifest.json, which pins every other file of the bundle. */
  readonly bundleSha256: string;
  readonly manifest: BundleManifest;
  readonly pipeline: FittedPipeline;
  /** Width of one feature row. */
  readonly width: number;
  readonly scorer: Scorer;
  readonly source: ResolvedModel['source'];
  readonly loadedAt: Date;
}

export interface LoadServedModelOptions {
  /** TensorFlow.js backend for bundles the lean path cannot run. */
  readonly backend?: string;
  /** Told why a bundle falls back to its family's own predict (TensorFlow.js for MLPs). */
  readonly onFallback?: (reason: string) => void;
  readonly clock?: () => Date;
}

/**
 * Loads and verifies the bundle a reference resolved to. MLP bundles get the lean
 * JavaScript forward pass; anything it cannot run (and other families) uses the family's
 * own loader, imported only then.
 */
export async function loadServedModel(resolved: ResolvedModel, options: LoadServedModelOptions = {}): Promise<ServedModel> {
  const bundle = await loadBundle(resolved.bundleDir);
  const bundleSha256 = await sha256File(join(resolved.bundleDir, MANIFEST_FILE));
  const pipeline = parsePipeline(bundle.pipelineJson);
  const width = compiledPipeline(pipeline).width;
  const { manifest } = bundle;
  let scorer: Scorer | undefined;
  if (manifest.modelFamily === 'mlp') {
    try {
      scorer = createLeanMlpScorer(bundle.modelFiles, width);
    } catch (error) {
      if (!(error instanceof UnsupportedNetworkError)) throw error;
      options.onFallback?.(error.message);
    }
  }
  if (scorer === undefined) scorer = await createFamilyScorer(manifest, bundle.modelFiles, width, options.backend);
  const source = resolved.source;
  const fromRegistry = source.kind === 'registry' && source.name !== undefined && source.version !== undefined;
  const runId = source.runId ?? manifest.runId ?? null;
  return {
    name: fromRegistry ? source.name! : manifest.task.name,
    version: fromRegistry ? String(source.version) : (runId ?? bundleSha256.slice(0, 12)),
    runId,
    bundleDir: resolved.bundleDir,
    bundleSha256,
    manifest,
    pipeline,
    width,
    scorer,
    source,
    loadedAt: (options.clock ?? (() => new Date()))(),
  };
}

function createLeanMlpScorer(files: ReadonlyMap<string, Uint8Array>, width: number): Scorer {
  const modelJson = files.get('model.json');
  const weights = files.get('weights.bin');
  if (modelJson === undefined || weights === undefined) throw new UnsupportedNetworkError(`the bundle has no ${MODEL_DIR}/model.json and ${MODEL_DIR}/weights.bin`);
  const network = parseDenseNetwork(modelJson, weights);
  if (network.inputs !== width) throw new UnsupportedNetworkError(`the network takes ${network.inputs} features, the pipeline makes ${width}`);
  if (network.outputs !== 1) throw new UnsupportedNetworkError(`the network has ${network.outputs} outputs; serving expects 1`);
  const forward = createDenseForward(network);
  return { kind: 'mlp-js', score: (features, rows) => forward.run(features, rows), dispose: () => {} };
}

async function createFamilyScorer(manifest: BundleManifest, files: ReadonlyMap<string, Uint8Array>, width: number, backend: string | undefined): Promise<Scorer> {
  const { getModelFamily } = await import('../models/model-families.js');
  const family = await getModelFamily(manifest.modelFamily);
  const model = await family.load(files, manifest.model, backend === undefined ? {} : { backend });
  return {
    kind: manifest.modelFamily === 'mlp' ? 'tfjs' : 'family',
    // The family may keep a reference to its input: give it its own copy.
    score: (features, rows) => model.predict({ data: features.slice(0, rows * width), rows, cols: width }),
    dispose: () => model.dispose(),
  };
}
