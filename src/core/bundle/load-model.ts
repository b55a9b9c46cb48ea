/**
 * The one way into a bundle for every consumer (predict, evaluate, report, serve, the
 * remote pipeline): verify it, parse its pipeline, load its family's fast scorer, and read
 * its output description.
 */
import { join } from 'node:path';
import { sha256File } from '../fs/hash.js';
import { compiledPipeline } from '../features/compiled-pipeline.js';
import { parsePipeline, transformRecords, type UnseenCategory } from '../features/pipeline.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { getModelFamily } from '../models/model-families.js';
import type { ModelSummary, Scorer } from '../models/model-family.js';
import { parseReferenceProfile, type ReferenceProfile } from '../monitoring/reference-profile.js';
import { UsageError } from '../errors.js';
import { MANIFEST_FILE, PROFILE_FILE, type BundleManifest } from './bundle-manifest.js';
import { loadBundle } from './model-bundle.js';
import { interpretOutput, type OutputMeaning } from './output-meaning.js';

export interface LoadedModel {
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** SHA-256 of manifest.json, which pins every other file of the bundle. */
  readonly manifestSha256: string;
  readonly pipeline: FittedPipeline;
  /** Width of one feature row. */
  readonly width: number;
  readonly scorer: Scorer;
  readonly meaning: OutputMeaning;
  /**
   * The training data's reference profile for drift monitoring, read on first use: scoring
   * never needs it. Throws UsageError 'PROFILE_MISSING' for a bundle written before profiles
   * and 'PROFILE_INVALID' for one this mlctl cannot read.
   */
  referenceProfile(): ReferenceProfile;
  /** Raw outputs for records already validated (validateRecords), in a fresh array. */
  scoreRecords(records: readonly DataRecord[], options?: { readonly onUnseen?: (event: UnseenCategory) => void }): Promise<Float32Array>;
  dispose(): void;
}

export interface LoadModelOptions {
  /** A compute backend for families that have one (the MLP's TensorFlow.js fallback). */
  readonly backend?: string;
  /** Told when the family falls back from its fastest scorer, and why. */
  readonly onFallback?: (reason: string) => void;
}

/** Bundles written before model summaries were typed carry a free-form description. */
function normalizeSummary(model: unknown): ModelSummary {
  const summary = model as Partial<ModelSummary> | undefined;
  return Array.isArray(summary?.facts) ? (summary as ModelSummary) : { facts: [] };
}

export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const bundle = await loadBundle(dir);
  const manifestSha256 = await sha256File(join(dir, MANIFEST_FILE));
  const pipeline = parsePipeline(bundle.pipelineJson);
  const width = compiledPipeline(pipeline).width;
  const manifest: BundleManifest = { ...bundle.manifest, model: normalizeSummary(bundle.manifest.model) };
  const family = getModelFamily(manifest.modelFamily);
  const scorer = await family.load(bundle.modelFiles, {
    width,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.onFallback === undefined ? {} : { onFallback: options.onFallback }),
  });
  const meaning = interpretOutput(manifest.output);
  let profile: ReferenceProfile | undefined;
  return {
    dir,
    manifest,
    manifestSha256,
    pipeline,
    width,
    scorer,
    meaning,
    referenceProfile() {
      if (bundle.profileJson === null) {
        throw new UsageError('PROFILE_MISSING', `the model bundle at ${dir} has no reference profile (${PROFILE_FILE}): it was written before mlctl kept one, and drift monitoring compares new data with it`, {
          hint: `retrain the model with this mlctl (its task is "${manifest.task.name}") and monitor the new bundle`,
        });
      }
      profile ??= parseReferenceProfile(bundle.profileJson, pipeline, meaning);
      return profile;
    },
    async scoreRecords(records, scoreOptions = {}) {
      const x = transformRecords(pipeline, records, scoreOptions.onUnseen === undefined ? {} : { onUnseen: scoreOptions.onUnseen });
      const raw = await scorer.score(x.data, x.rows);
      return raw.slice(0, x.rows * scorer.outputs);
    },
    dispose: () => scorer.dispose(),
  };
}
