/**
 * The JSON Schema of a task file, published as `schemas/task.schema.json` (written from this
 * object by `npm run schema`; test/unit/tasks/task-schema.test.ts fails when the file, this
 * object and the TaskFile type drift apart). Editors validate task files with it; mlctl
 * validates every task file against it, with ajv, before anything else (src/core/schema/json-schema-validator.ts).
 */
import { allMetricNames } from '../bundle/output-meaning.js';
import { DATE_PARTS } from '../features/dates.js';
import { COLUMN_TYPES, IMPUTE_STRATEGIES, UNSEEN_POLICIES } from '../features/pipeline-validation.js';

export const PROBLEM_TYPES = ['binary-classification', 'multiclass-classification', 'regression'] as const;

/** A task name: also the experiment runs are recorded in. */
export const TASK_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

const stringList = { type: 'array', items: { type: 'string' } };
const fraction = { type: 'number', minimum: 0, exclusiveMaximum: 1 };
const psi = { type: 'number', exclusiveMinimum: 0 };
const jensenShannon = { type: 'number', exclusiveMinimum: 0, maximum: 1 };

const step = (kind: string, description: string, properties: Record<string, unknown> = {}, required: string[] = []): Record<string, unknown> => ({
  type: 'object',
  description,
  additionalProperties: false,
  required: ['kind', ...required],
  properties: { kind: { const: kind }, ...properties },
});

export const TASK_FILE_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'mlctl task file',
  description:
    'What `mlctl train --config` reads. Only "data" (or "dataset") and "target" are needed: every other section is inferred from the data when left out (`mlctl task init` writes them all out).',
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string', description: 'The schema this file follows (for editors).' },
    extends: { type: 'string', description: 'A built-in task (income, housing) this file changes; its sections are merged in depth.' },
    name: { type: 'string', pattern: TASK_NAME_PATTERN, description: 'The task name, also the experiment its runs go to. Default: the data file name.' },
    description: { type: 'string' },
    data: { type: 'string', minLength: 1, description: 'A CSV file (relative to this file), or an https:// or s3:// URL.' },
    dataset: { type: 'string', minLength: 1, description: 'A built-in dataset (income, housing), or a CSV as for "data".' },
    target: {
      anyOf: [{ type: 'string', minLength: 1, description: 'The column to predict.' }, { $ref: '#/$defs/target' }],
    },
    problemType: { enum: [...PROBLEM_TYPES], description: 'Default: inferred from the target column.' },
    missing: { ...stringList, description: 'Field values read as missing; replaces the default list ["", "NA", "N/A", "NaN", "null", "?", "."].' },
    onMissingTarget: { enum: ['drop', 'error'], description: 'Rows with a missing or unparseable target: dropped before the split (default) or refused.' },
    sensitive: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, description: 'Columns kept out of the features, used for fairness slices in reports.' },
    features: { $ref: '#/$defs/features' },
    model: { $ref: '#/$defs/model' },
    split: { $ref: '#/$defs/split' },
    metrics: { type: 'array', items: { enum: allMetricNames() }, description: "Metrics reported, headline first. Default: the problem type's." },
    gates: { type: 'array', items: { $ref: '#/$defs/gate' }, description: 'Quality gates: a run that misses one exits 4.' },
    monitoring: { $ref: '#/$defs/monitoring' },
    bounds: {
      type: 'object',
      description:
        'Hard bounds of numeric inputs, by column: {"age": {"min": 0, "max": 120}}. A value outside is refused at prediction time (exit 2, HTTP 422); one outside the training range but inside the bounds is answered with a warning.',
      additionalProperties: { $ref: '#/$defs/bound' },
    },
  },
  $defs: {
    bound: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { min: { type: 'number', description: 'The smallest value accepted.' }, max: { type: 'number', description: 'The largest value accepted.' } },
    },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['column'],
      properties: {
        column: { type: 'string', minLength: 1 },
        positiveLabel: { type: 'string', description: 'Binary: the label counted as positive.' },
        negativeLabel: { type: 'string', description: 'Binary: the other label; any third value is refused.' },
        transform: { enum: ['log1p'], description: 'Regression: fit on log1p(target).' },
      },
    },
    features: {
      type: 'object',
      additionalProperties: false,
      required: ['columns'],
      properties: { columns: { type: 'array', minItems: 1, items: { $ref: '#/$defs/column' } } },
    },
    column: {
      type: 'object',
      additionalProperties: false,
      required: ['column', 'type', 'steps'],
      properties: {
        column: { type: 'string', minLength: 1 },
        type: { enum: [...COLUMN_TYPES] },
        steps: { type: 'array', items: { $ref: '#/$defs/step' } },
        missing: { enum: ['keep'], description: 'Missing values reach the model as NaN (trees); no impute step.' },
      },
    },
    step: {
      discriminator: { propertyName: 'kind' },
      oneOf: [
        step('impute', 'Fill missing values.', { strategy: { enum: [...IMPUTE_STRATEGIES] }, value: { type: ['string', 'number'] } }, ['strategy']),
        step('standardize', 'z-score on the training rows.'),
        step('log1p', 'log(1 + x), for skewed non-negative numbers.'),
        step('yes-no', 'A yes/no column as 1/0.', { yes: { ...stringList, minItems: 1 }, no: { ...stringList, minItems: 1 } }),
        step('one-hot', 'One indicator per category.', { unseen: { enum: [...UNSEEN_POLICIES] }, drop: { enum: ['first'] } }, ['unseen']),
        step('ordinal', 'A category as its code (trees).'),
        step('date', 'A date as numbers: year, month, day of week, day of year, days since 1970 by default.', {
          parts: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...DATE_PARTS] } },
          standardize: { type: 'boolean' },
        }),
      ],
    },
    model: {
      type: 'object',
      additionalProperties: false,
      properties: {
        family: { type: 'string', description: 'A model family (mlctl train --help lists them). Default: the problem type’s.' },
        params: {
          type: 'object',
          description: "The family's hyper-parameters; those left out take the family's defaults.",
          additionalProperties: { type: ['number', 'boolean', 'string', 'array'] },
        },
      },
    },
    split: {
      type: 'object',
      additionalProperties: false,
      properties: {
        method: { enum: ['seeded', 'sklearn'] },
        validation: { ...fraction, description: 'Fraction of the training rows held out for early stopping.' },
        test: { ...fraction, description: 'Fraction held out as the test set when the dataset has no test file.' },
        stratify: { type: 'boolean' },
        seed: { type: 'integer' },
      },
    },
    monitoring: {
      type: 'object',
      additionalProperties: false,
      description: 'Drift monitoring: the bins of the reference profile kept in each bundle, and when `mlctl monitor drift` calls an input drifted (flags override these).',
      properties: {
        bins: { type: 'integer', minimum: 2, maximum: 100, description: 'Quantile bins per numeric input and numeric output. Default 10.' },
        psiThreshold: { ...psi, description: 'An input has drifted when its PSI is above this. Default 0.2.' },
        jsThreshold: { ...jensenShannon, description: 'A categorical input has drifted too when its Jensen–Shannon distance is above this. Default: none (reported, not deciding).' },
        features: {
          type: 'object',
          description: 'Thresholds for single inputs, by column name.',
          additionalProperties: { $ref: '#/$defs/driftThreshold' },
        },
        output: {
          type: 'object',
          additionalProperties: false,
          description: "The model's output distribution.",
          properties: { psi: { ...psi, description: 'Default: psiThreshold.' } },
        },
      },
    },
    driftThreshold: {
      type: 'object',
      additionalProperties: false,
      properties: { psi: psi, js: { ...jensenShannon, description: 'Categorical inputs only.' } },
    },
    gate: {
      type: 'object',
      additionalProperties: false,
      required: ['metric'],
      properties: { metric: { enum: allMetricNames() }, min: { type: 'number' }, max: { type: 'number' } },
      anyOf: [{ required: ['min'] }, { required: ['max'] }],
    },
  },
} as const;
