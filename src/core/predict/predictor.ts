import type { DataRecord } from '../datasets/dataset-spec.js';
import { UsageError } from '../errors.js';
import { loadModel, type LoadedModel, type LoadModelOptions } from '../bundle/load-model.js';
import type { Answer } from '../bundle/output-meaning.js';
import type { UnseenCategory } from '../features/pipeline.js';
import { validateRecords } from '../features/record-validation.js';

/** One answer per input record, in input order, with the record's own `id` when it had one. */
export type Prediction = Answer & { readonly id?: string | number };

export interface PredictOptions {
  readonly onUnseen?: (event: UnseenCategory) => void;
}

/** A loaded, verified bundle that answers records the way `mlctl predict` does. */
export interface Predictor extends LoadedModel {
  /** Validates every record first (all problems reported at once), then predicts. */
  predict(records: readonly unknown[], options?: PredictOptions): Promise<Prediction[]>;
  /** Raw model outputs for already-validated records (P(positive), class probabilities or the value). */
  score(records: readonly DataRecord[], options?: PredictOptions): Promise<Float32Array>;
}

/** `value` as one shell word: bare when it is safe to paste, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

export interface LoadPredictorOptions extends LoadModelOptions {
  /** The model as the user named it (income@production), for the hints of errors. */
  readonly reference?: string;
}

/**
 * Records are numbered from 1 in every message, as lines of a file are: "record 3, field
 * "age"".
 */
export async function loadPredictor(bundleDir: string, options: LoadPredictorOptions = {}): Promise<Predictor> {
  const model = await loadModel(bundleDir, options);
  const score = (records: readonly DataRecord[], opts: PredictOptions = {}): Promise<Float32Array> =>
    model.scoreRecords(records, opts.onUnseen === undefined ? {} : { onUnseen: opts.onUnseen });
  return {
    ...model,
    score,
    async predict(records, opts = {}) {
      const { records: valid, problems } = validateRecords(model.pipeline, records, { absent: 'error' });
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
        return { ...id, ...model.meaning.answer(raw, i) };
      });
    },
  };
}
