import { compiledPipeline } from '../features/compiled-pipeline.js';
import type { CounterChild, HistogramChild } from './metrics-registry.js';
import type { ServedModel } from './served-model.js';
import type { ServingMetrics } from './serving-metrics.js';

/** A binary classifier's metric children, looked up once (the hot path only adds numbers). */
export interface BinaryCounters {
  /** mlctl_predictions_total for the positive and the negative label. */
  readonly positive: CounterChild;
  readonly negative: CounterChild;
  /** mlctl_prediction_batch_size{route="predict_income"} */
  readonly batchOfOne: HistogramChild;
}

/** What the handler derives once per served model. */
export interface ModelState {
  /** `{"name":…,"version":…}` */
  readonly identityJson: string;
  /** A binary classifier: answers splice the two labels' JSON. */
  readonly binary: boolean;
  readonly positiveLabel: string;
  readonly negativeLabel: string;
  /** JSON-escaped labels, ready to splice into a response. */
  readonly positiveJson: string;
  readonly negativeJson: string;
  /** The input columns, in the pipeline's order. */
  readonly columns: readonly string[];
  readonly width: number;
  /** A reusable feature buffer, grown by `featuresFor`. */
  features: Float32Array;
  /** Binary classifiers only: created on first use. */
  readonly counters: BinaryCounters;
  /** Built on first use. */
  openApi?: Record<string, unknown>;
  docs?: string;
}

export function modelStateOf(model: ServedModel, metrics: ServingMetrics): ModelState {
  const meaning = model.meaning;
  const binary = meaning.description.kind === 'binary-probability';
  const [negativeLabel, positiveLabel] = binary ? (meaning.labels as [string, string]) : ['', ''];
  let counters: BinaryCounters | undefined;
  return {
    get counters(): BinaryCounters {
      counters ??= {
        positive: metrics.predictions.labels(model.name, model.version, positiveLabel),
        negative: metrics.predictions.labels(model.name, model.version, negativeLabel),
        batchOfOne: metrics.batchSize.labels('predict_income'),
      };
      return counters;
    },
    identityJson: JSON.stringify({ name: model.name, version: model.version }),
    binary,
    positiveLabel,
    negativeLabel,
    positiveJson: JSON.stringify(positiveLabel),
    negativeJson: JSON.stringify(negativeLabel),
    columns: compiledPipeline(model.pipeline).columns.map((c) => c.column),
    width: model.width,
    features: new Float32Array(model.width * 16),
  };
}

/** The model's reusable feature buffer, grown to `rows` rows. */
export function featuresFor(state: ModelState, rows: number): Float32Array {
  const needed = rows * state.width;
  if (state.features.length < needed) state.features = new Float32Array(Math.max(needed, state.features.length * 2));
  return state.features;
}
