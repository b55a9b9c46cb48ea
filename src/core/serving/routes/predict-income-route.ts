/**
 * POST /predict_income: the seed service's route, kept for its clients. It exists only when
 * the served model is a binary classifier of the built-in income task (route-table.ts);
 * its body is one census record in which race and sex may be left out (the seed's curl
 * body), and its answer the seed's `{"income_gt_50k", "probability"}` plus the model.
 */
import { validateRecords } from '../../features/record-validation.js';
import { describeType, HttpError, isPlainObject, type FieldProblem } from '../http-error.js';
import { SEED_OPTIONAL_FIELDS } from '../openapi.js';
import { readJsonBody } from '../request-body.js';
import { andThen, countWarnings, fieldProblems, invalidInput, scoreValid, warningsPart, withModel } from '../scoring.js';
import { JSON_CONTENT_TYPE, type Exchange, type ServeResponse } from '../serve-context.js';
import type { ServedModel } from '../served-model.js';

const SEED_OPTIONAL: ReadonlySet<string> = new Set(SEED_OPTIONAL_FIELDS);

/** The route follows the task: the income task's binary classifier only. */
export function servesPredictIncome(model: ServedModel): boolean {
  return model.manifest.task.name === 'income' && model.meaning.description.kind === 'binary-probability';
}

export function predictIncomeRoute(c: Exchange): ServeResponse | Promise<ServeResponse> {
  const body = readJsonBody(c.request.contentType, c.request.body);
  return withModel(c, (model) => {
    const state = c.app.modelState(model);
    if (!isPlainObject(body)) throw new HttpError(422, 'BODY_NOT_OBJECT', `the body must be one JSON object of census fields, got ${describeType(body)}`);
    c.records = 1;
    const validated = validateRecords(model.pipeline, [body], { absent: 'error', mayBeAbsent: SEED_OPTIONAL, numbersForStrings: 'refuse' });
    if (validated.problems.length > 0) {
      const problems: FieldProblem[] = [];
      // In the model's column order: a missing field (in the seed's words), else what is wrong with its value.
      for (const field of state.columns) {
        if (body[field] === undefined && !SEED_OPTIONAL.has(field)) problems.push({ field, message: 'field required' });
        else problems.push(...fieldProblems(validated.problems.filter((p) => p.field === field), false));
      }
      throw invalidInput(problems, problems.length, true);
    }
    return andThen(scoreValid(c, model, state, validated.records), (outputs) => {
      const { recorder } = c.app;
      c.app.drift?.record(model, validated.records, outputs);
      const warnings = validated.warnings;
      const probability = outputs[0]!;
      const positive = model.meaning.classOf(outputs, 0) === 1;
      const label = positive ? state.positiveLabel : state.negativeLabel;
      (positive ? state.counters.positive : state.counters.negative).inc();
      state.counters.batchOfOne.observe(1);
      recorder?.add({
        input: body,
        modelName: model.name,
        modelVersion: model.version,
        label,
        probability,
        latencyMs: c.app.clock() - c.startedAt,
        createdAt: c.app.now().toISOString(),
      });
      let extra = '';
      if (warnings.length > 0) {
        countWarnings(c, warnings);
        extra = `,${warningsPart(warnings, 0, 0).text}`;
      }
      return {
        status: 200,
        contentType: JSON_CONTENT_TYPE,
        body: `{"income_gt_50k":${positive},"probability":${probability},"model":${state.identityJson}${extra}}`,
      };
    });
  });
}
