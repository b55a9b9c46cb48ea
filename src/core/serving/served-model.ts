import { loadModel, type LoadedModel } from '../bundle/load-model.js';
import type { BundleManifest } from '../bundle/bundle-manifest.js';
import type { OutputMeaning } from '../bundle/output-meaning.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import type { Scorer } from '../models/model-family.js';
import type { ReferenceProfile } from '../monitoring/reference-profile.js';
import type { ResolvedModel } from '../tracking/model-reference.js';

export type { Scorer } from '../models/model-family.js';

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
  readonly meaning: OutputMeaning;
  readonly source: ResolvedModel['source'];
  readonly loadedAt: Date;
  /**
   * The bundle's reference profile, read on first use (drift monitoring); throws
   * 'PROFILE_MISSING' for a bundle written before profiles (see LoadedModel).
   */
  referenceProfile(): ReferenceProfile;
}

/** The name and version a served model goes by (metrics, stored predictions and histograms). */
export interface ServedIdentity {
  /** The registry name when served from the registry, else the task name. */
  readonly name: string;
  /** The registry version, else the run id (else the manifest's SHA-256, shortened). */
  readonly version: string;
  readonly runId: string | null;
}

/**
 * How a resolved bundle is named while served. `monitor drift --since` names the stored
 * histograms the same way, so the same reference finds what `serve` stored under it.
 */
export function servedIdentity(source: ResolvedModel['source'], manifest: Pick<BundleManifest, 'task' | 'runId'>, manifestSha256: string): ServedIdentity {
  const fromRegistry = source.kind === 'registry' && source.name !== undefined && source.version !== undefined;
  const runId = source.runId ?? manifest.runId ?? null;
  return {
    name: fromRegistry ? source.name! : manifest.task.name,
    version: fromRegistry ? String(source.version) : (runId ?? manifestSha256.slice(0, 12)),
    runId,
  };
}

export interface LoadServedModelOptions {
  /** A compute backend for families that have one (the MLP's TensorFlow.js fallback). */
  readonly backend?: string;
  /** Told why a bundle falls back from its family's fastest scorer. */
  readonly onFallback?: (reason: string) => void;
  readonly clock?: () => Date;
}

/** Loads and verifies the bundle a reference resolved to, with its family's fast scorer. */
export async function loadServedModel(resolved: ResolvedModel, options: LoadServedModelOptions = {}): Promise<ServedModel> {
  const model: LoadedModel = await loadModel(resolved.bundleDir, {
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.onFallback === undefined ? {} : { onFallback: options.onFallback }),
  });
  const source = resolved.source;
  const { name, version, runId } = servedIdentity(source, model.manifest, model.manifestSha256);
  return {
    name,
    version,
    runId,
    bundleDir: resolved.bundleDir,
    bundleSha256: model.manifestSha256,
    manifest: model.manifest,
    pipeline: model.pipeline,
    width: model.width,
    scorer: model.scorer,
    meaning: model.meaning,
    source,
    loadedAt: (options.clock ?? (() => new Date()))(),
    referenceProfile: () => model.referenceProfile(),
  };
}
