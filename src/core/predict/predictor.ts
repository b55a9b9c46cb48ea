import type { DataRecord } from '../datasets/dataset-spec.js';
import { UsageError } from '../errors.js';
import { loadBundle } from '../bundle/model-bundle.js';
import type { BundleManifest } from '../bundle/bundle-manifest.js';
import { parsePipeline, transformRecords, type UnseenCategory } from '../features/pipeline.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import { validateRecords } from '../features/record-validation.js';
import { getModelFamily } from '../models/model-families.js';
import type { TrainedModel } from '../models/model-family.js';

/** One answer per input record, in input order. */
export interface Prediction {
  /** The record's own `id`, when it had one. */
  readonly id?: string | number;
  /** Classification: the predicted label and P(positive label). */
  readonly label?: string;
  readonly probability?: number;
  /** Regression: the predicted value in the target's units. */
  readonly prediction?: number;
}

export interface PredictOptions {
  readonly onUnseen?: (event: UnseenCategory) => void;
}

/** A loaded, verified bundle ready to answer. */
export interface Predictor {
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly pipeline: FittedPipeline;
  readonly model: TrainedModel;
  /** Validates every record first (all problems reported at once), then predicts. */
  predict(records: readonly unknown[], options?: PredictOptions): Promise<Prediction[]>;
  /** Raw model outputs for already-validated records (P(positive) or the value). */
  score(records: readonly DataRecord[], options?: PredictOptions): Promise<Float32Array>;
  dispose(): void;
}

/** `value` as one shell word: bare when it is safe to paste, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

export interface LoadPredictorOptions {
  readonly backend?: string;
  /** The model as the user named it (income@production), for the hints of errors. */
  readonly reference?: string;
}

export async function loadPredictor(bundleDir: string, options: LoadPredictorOptions = {}): Promise<Predictor> {
  const bundle = await loadBundle(bundleDir);
  const pipeline = parsePipeline(bundle.pipelineJson);
  const family = await getModelFamily(bundle.manifest.modelFamily);
  const model = await family.load(bundle.modelFiles, bundle.manifest.model, options);
  const { manifest } = bundle;
  const output = manifest.output;

  const score = async (records: readonly DataRecord[], opts: PredictOptions = {}): Promise<Float32Array> =>
    model.predict(transformRecords(pipeline, records, opts.onUnseen === undefined ? {} : { onUnseen: opts.onUnseen }));

  return {
    dir: bundleDir,
    manifest,
    pipeline,
    model,
    score,
    async predict(records, opts = {}) {
      const { records: valid, problems } = validateRecords(pipeline, records, { absent: 'error' });
      if (problems.length > 0) {
        const listed = problems.slice(0, 50).map((p) => `record ${p.record + 1}, field "${p.field}": ${p.message}`);
        if (problems.length > 50) listed.push(`… and ${problems.length - 50} more`);
        throw new UsageError('PREDICT_INPUT_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in the input records; nothing was predicted`, {
          problems: listed,
          hint: `each record needs the fields of the model's input schema; \`mlctl models show ${shellWord(options.reference ?? bundleDir)}\` lists them`,
        });
      }
      const raw = await score(valid, opts);
      return valid.map((_, i) => {
        const input = records[i] as Record<string, unknown>;
        const id = typeof input.id === 'string' || typeof input.id === 'number' ? { id: input.id } : {};
        const value = raw[i] as number;
        if (output.kind === 'binary-probability') {
          return { ...id, label: value >= output.threshold ? output.positiveLabel : output.negativeLabel, probability: value };
        }
        return { ...id, prediction: output.transform === 'log1p' ? Math.expm1(value) : value };
      });
    },
    dispose: () => model.dispose(),
  };
}
