/**
 * POST /predict (mlctl's shapes, warnings per record) and POST /invocations (MLflow's
 * scoring protocol, exactly: one input key, `format=` parameters, CSV, MLflow's errors).
 * Both answer `{"predictions": [...]}`, one entry per record in input order.
 */
import { readRecordsBody } from '../request-body.js';
import type { RecordWarning } from '../../features/record-validation.js';
import type { ModelState } from '../model-state.js';
import { andThen, countWarnings, MAX_RECORDS, scoreValid, tooManyRecords, validateInput, warningsPart, withModel } from '../scoring.js';
import { JSON_CONTENT_TYPE, type Exchange, type ServeResponse } from '../serve-context.js';
import type { ServedModel } from '../served-model.js';

/** POST /predict: one record, an array, or an MLflow payload; CSV with a header row. */
export function predictRoute(c: Exchange): ServeResponse | Promise<ServeResponse> {
  return answerRecords(c, readRecordsBody(c.request.contentType, c.request.body, 'mlctl'), 'predict', true);
}

/** POST /invocations: MLflow's scoring server. */
export function invocationsRoute(c: Exchange): ServeResponse | Promise<ServeResponse> {
  return answerRecords(c, readRecordsBody(c.request.contentType, c.request.body, 'mlflow'), 'invocations', false);
}

function answerRecords(c: Exchange, records: readonly unknown[], route: string, withWarnings: boolean): ServeResponse | Promise<ServeResponse> {
  c.records = records.length;
  if (records.length > MAX_RECORDS) throw tooManyRecords(records.length);
  return withModel(c, (model) => {
    const state = c.app.modelState(model);
    const { records: valid, warnings } = validateInput(model, records);
    return andThen(scoreValid(c, model, state, valid), (outputs) => {
      // Counted for drift as answered: binned now, the values not kept.
      c.app.drift?.record(model, valid, outputs);
      return answer(c, model, state, records, valid.length, outputs, warnings, route, withWarnings);
    });
  });
}

function answer(
  c: Exchange,
  model: ServedModel,
  state: ModelState,
  records: readonly unknown[],
  rows: number,
  outputs: Float32Array,
  warnings: readonly RecordWarning[],
  route: string,
  withWarnings: boolean,
): ServeResponse {
  const { metrics, recorder } = c.app;
  countWarnings(c, warnings);
  metrics.batchSize.labels(route).observe(rows);
  const meaning = model.meaning;
  const createdAt = recorder === undefined ? '' : c.app.now().toISOString();
  const latencyMs = c.app.clock() - c.startedAt;
  const parts = new Array<string>(rows);
  let positives = 0;
  let cursor = 0;
  for (let i = 0; i < rows; i++) {
    const input = records[i] as Record<string, unknown>;
    const id = input.id;
    let head = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? `"id":${JSON.stringify(id)},` : '';
    if (withWarnings && warnings.length > 0) {
      const part = warningsPart(warnings, i, cursor);
      cursor = part.next;
      if (part.text !== '') head += `${part.text},`;
    }
    let label: string;
    if (state.binary) {
      const positive = meaning.classOf(outputs, i) === 1;
      if (positive) positives++;
      label = positive ? state.positiveLabel : state.negativeLabel;
      parts[i] = `{${head}"label":${positive ? state.positiveJson : state.negativeJson},"probability":${outputs[i]!}}`;
    } else if (meaning.classification) {
      label = meaning.labelOf(outputs, i);
      parts[i] = `{${head}${JSON.stringify(meaning.answer(outputs, i)).slice(1)}`;
      metrics.predictions.labels(model.name, model.version, label).inc();
    } else {
      const prediction = meaning.valueOf(outputs, i);
      label = String(prediction);
      parts[i] = `{${head}"prediction":${prediction}}`;
    }
    recorder?.add({
      input,
      modelName: model.name,
      modelVersion: model.version,
      label,
      probability: state.binary ? outputs[i]! : meaning.classification ? meaning.valueOf(outputs, i) : null,
      latencyMs,
      createdAt,
    });
  }
  if (state.binary) {
    if (positives > 0) state.counters.positive.inc(positives);
    if (rows - positives > 0) state.counters.negative.inc(rows - positives);
  } else if (!meaning.classification && rows > 0) {
    metrics.predictions.labels(model.name, model.version, 'value').inc(rows);
  }
  return { status: 200, contentType: JSON_CONTENT_TYPE, body: `{"predictions":[${parts.join(',')}]}` };
}
