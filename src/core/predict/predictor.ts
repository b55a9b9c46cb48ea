import type { DataRecord } from '../datasets/dataset-spec.js';
import { UsageError } from '../errors.js';
import { loadModel, type LoadedModel, type LoadModelOptions } from '../bundle/load-model.js';
import type { Answer } from '../bundle/output-meaning.js';
import type { UnseenCategory } from '../features/pipeline.js';
import { recordNumber, validateRecords, type ValidateRecordsOptions } from '../features/record-validation.js';

/** A value answered although it lies outside the training range or the known categories. */
export interface PredictionWarning {
  readonly field: string;
  /** 'out-of-range': a number outside the training range; 'unseen-category': a category not seen in training. */
  readonly kind: 'out-of-range' | 'unseen-category';
  readonly message: string;
}

/**
 * One answer per input record, in input order, with the record's own `id` when it had one,
 * and `warnings` when a value lies outside what the model saw in training.
 */
export type Prediction = Answer & { readonly id?: string | number; readonly warnings?: readonly PredictionWarning[] };

export interface PredictOptions {
  readonly onUnseen?: (event: UnseenCategory) => void;
  /** A number sent for a categorical column: refused (default; JSON input) or read as its spelling (CSV input). */
  readonly numbersForStrings?: ValidateRecordsOptions['numbersForStrings'];
  /** How messages name record `index` (default "record <index + 1>"; a CSV's reader says "file line N"). */
  readonly recordName?: (index: number) => string;
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

const MAX_LISTED = 50;

function invalidInput(problems: readonly string[], total: number, hint: string): UsageError {
  const listed = problems.slice(0, MAX_LISTED);
  if (total > listed.length) listed.push(`… and ${total - listed.length} more`);
  return new UsageError('PREDICT_INPUT_INVALID', `${total} problem${total === 1 ? '' : 's'} in the input records; nothing was predicted`, { problems: listed, hint });
}

/**
 * Records are numbered from 1 in every message, as lines of a file are, and as the HTTP
 * daemon numbers them: "record 3, field "age"".
 */
export async function loadPredictor(bundleDir: string, options: LoadPredictorOptions = {}): Promise<Predictor> {
  const model = await loadModel(bundleDir, options);
  const reference = shellWord(options.reference ?? bundleDir);
  const hint = `each record needs the fields of the model's input schema; \`mlctl models show ${reference}\` lists them`;
  const score = (records: readonly DataRecord[], opts: PredictOptions = {}): Promise<Float32Array> =>
    model.scoreRecords(records, opts.onUnseen === undefined ? {} : { onUnseen: opts.onUnseen });
  return {
    ...model,
    score,
    async predict(records, opts = {}) {
      const name = opts.recordName ?? ((index: number) => `record ${recordNumber(index)}`);
      const { records: valid, problems, warnings } = validateRecords(model.pipeline, records, { absent: 'error', numbersForStrings: opts.numbersForStrings ?? 'refuse' });
      if (problems.length > 0) {
        throw invalidInput(
          problems.slice(0, MAX_LISTED).map((p) => `${name(p.record)}, field "${p.field}": ${p.message}`),
          problems.length,
          hint,
        );
      }
      const raw = await score(valid, opts);
      // A model answers NaN or ±Infinity only for inputs far outside its training; never print one.
      const outputs = model.meaning.width;
      const broken: string[] = [];
      for (let i = 0; i < valid.length; i++) {
        for (let k = 0; k < outputs; k++) {
          if (!Number.isFinite(raw[i * outputs + k]!)) {
            broken.push(`${name(i)}: the model's output is not a finite number; its values lie far outside the training data`);
            break;
          }
        }
      }
      if (broken.length > 0) throw invalidInput(broken, broken.length, `compare the records with the training ranges: \`mlctl models show ${reference}\``);
      const byRecord = new Map<number, PredictionWarning[]>();
      for (const w of warnings) {
        const list = byRecord.get(w.record) ?? [];
        list.push({ field: w.field, kind: w.kind, message: w.message });
        byRecord.set(w.record, list);
      }
      return valid.map((_, i) => {
        const input = records[i] as Record<string, unknown>;
        const id = typeof input.id === 'string' || (typeof input.id === 'number' && Number.isFinite(input.id)) ? { id: input.id } : {};
        const recordWarnings = byRecord.get(i);
        return { ...id, ...model.meaning.answer(raw, i), ...(recordWarnings === undefined ? {} : { warnings: recordWarnings }) };
      });
    },
  };
}
