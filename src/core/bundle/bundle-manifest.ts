import type { ModelSummary } from '../models/model-family.js';
import type { ProblemType, TaskSpec } from '../tasks/task-spec.js';
import type { OutputDescription } from './output-meaning.js';

export type { OutputDescription } from './output-meaning.js';

export const BUNDLE_KIND = 'mlctl.bundle';
export const BUNDLE_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const PIPELINE_FILE = 'preprocessing.json';
/** The reference profile for drift monitoring (bundles written before it have none). */
export const PROFILE_FILE = 'profile.json';
export const MODEL_DIR = 'model';

/**
 * manifest.json: the one portable description of a model bundle. `files` lists the SHA-256
 * of every other file in the bundle; loading verifies them and refuses a tampered bundle.
 */
export interface BundleManifest {
  readonly kind: typeof BUNDLE_KIND;
  readonly formatVersion: typeof BUNDLE_FORMAT_VERSION;
  readonly task: TaskSpec;
  readonly problemType: ProblemType;
  readonly modelFamily: string;
  readonly backend: string;
  readonly createdAt: string;
  readonly mlctlVersion: string;
  readonly runId: string | null;
  /** JSON Schema of one input record. */
  readonly inputSchema: Record<string, unknown>;
  readonly output: OutputDescription;
  readonly featureNames: readonly string[];
  /** Headline metrics on the test split. */
  readonly metrics: Readonly<Record<string, number>>;
  /** What the model family says about the fitted model (iterations, feature weights, facts). */
  readonly model: ModelSummary;
  readonly dataset: { readonly name: string; readonly files: Readonly<Record<string, string>> };
  /** Relative path → SHA-256 of every file but manifest.json. */
  readonly files: Readonly<Record<string, string>>;
}
