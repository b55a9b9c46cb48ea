/**
 * Shape checks for pipeline specs (from task files a user wrote) and fitted pipelines (from
 * bundles on disk). Both return every problem found, as messages naming the column and step.
 */
import { DATE_PARTS, DEFAULT_DATE_PARTS, datePartName, parseDate, type DatePart } from './dates.js';
import type { ColumnTransformSpec, FeatureStepKind, ImputeStrategy, UnseenCategoryPolicy } from './pipeline-spec.js';

export const COLUMN_TYPES: readonly ColumnTransformSpec['type'][] = ['numeric', 'categorical', 'boolean', 'date'];
export const IMPUTE_STRATEGIES: readonly ImputeStrategy[] = ['median', 'mean', 'most-frequent', 'constant'];
export const UNSEEN_POLICIES: readonly UnseenCategoryPolicy[] = ['ignore', 'most-frequent', 'error'];
export const STEP_KINDS: readonly FeatureStepKind[] = ['impute', 'standardize', 'log1p', 'yes-no', 'one-hot', 'ordinal', 'date'];
/** Steps that encode a categorical column; exactly one comes last. */
const CATEGORY_ENCODINGS: readonly FeatureStepKind[] = ['one-hot', 'ordinal'];

/** Which steps each column type allows, and which one must come last. */
const ALLOWED_STEPS: Readonly<Record<ColumnTransformSpec['type'], { allowed: readonly FeatureStepKind[]; last?: readonly FeatureStepKind[] }>> = {
  numeric: { allowed: ['impute', 'log1p', 'standardize'] },
  categorical: { allowed: ['impute', ...CATEGORY_ENCODINGS], last: CATEGORY_ENCODINGS },
  boolean: { allowed: ['impute', 'yes-no'], last: ['yes-no'] },
  date: { allowed: ['impute', 'date'], last: ['date'] },
};

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value) ?? String(value);
}

/**
 * Checks the order and kinds of one column's steps: impute (at most one) first, each kind
 * once, only kinds the column type allows, and the encoding step a type needs, last.
 */
function checkStepKinds(where: string, type: ColumnTransformSpec['type'], kinds: readonly string[]): string[] {
  const problems: string[] = [];
  const rule = ALLOWED_STEPS[type];
  const seen = new Set<string>();
  kinds.forEach((kind, index) => {
    if (!(STEP_KINDS as readonly string[]).includes(kind)) {
      problems.push(`${where}.steps[${index}]: unknown step kind ${describe(kind)} (expected one of ${STEP_KINDS.join(', ')}).`);
      return;
    }
    if (!(rule.allowed as readonly string[]).includes(kind)) {
      problems.push(`${where}.steps[${index}]: step "${kind}" does not apply to a ${type} column (allowed: ${rule.allowed.join(', ')}).`);
    }
    if (seen.has(kind)) problems.push(`${where}.steps[${index}]: step "${kind}" appears twice.`);
    seen.add(kind);
    if (kind === 'impute' && index !== 0) problems.push(`${where}.steps[${index}]: impute must be the first step.`);
  });
  if (rule.last !== undefined && !(rule.last as readonly string[]).includes(kinds[kinds.length - 1] ?? '')) {
    problems.push(`${where}: a ${type} column needs a ${rule.last.map((k) => `"${k}"`).join(' or ')} step, last.`);
  }
  if (kinds.filter((kind) => (CATEGORY_ENCODINGS as readonly string[]).includes(kind)).length > 1) {
    problems.push(`${where}: a column takes one of ${CATEGORY_ENCODINGS.join(', ')}, not both.`);
  }
  return problems;
}

/** `missing: "keep"` passes NaN to the model: only where one number encodes the column, and never with an impute step. */
function checkMissing(where: string, missing: unknown, kinds: readonly string[]): string[] {
  if (missing === undefined) return [];
  if (missing !== 'keep') return [`${where}.missing: ${describe(missing)}; the only option is "keep".`];
  if (kinds.includes('impute')) return [`${where}.missing: "keep" leaves missing values to the model; drop the impute step.`];
  if (kinds.includes('one-hot')) return [`${where}.missing: "keep" needs one number per column; use "ordinal" instead of "one-hot".`];
  return [];
}

function checkImputeValue(where: string, type: ColumnTransformSpec['type'], value: unknown): string[] {
  if (type === 'date') return typeof value === 'string' && parseDate(value) !== undefined ? [] : [`${where}: impute value ${describe(value)} must be a date (YYYY-MM-DD) for a date column.`];
  if (type === 'numeric' ? typeof value === 'number' && Number.isFinite(value) : typeof value === 'string') return [];
  return [`${where}: impute value ${describe(value)} must be ${type === 'numeric' ? 'a finite number' : 'a string'} for a ${type} column.`];
}

function checkDateParts(where: string, parts: unknown): string[] {
  if (!Array.isArray(parts) || parts.length === 0) return [`${where}.parts: expected a non-empty array of ${DATE_PARTS.join(', ')}.`];
  const unknown = parts.filter((p) => !(DATE_PARTS as readonly unknown[]).includes(p));
  if (unknown.length > 0) return [`${where}.parts: ${unknown.map(describe).join(', ')} ${unknown.length === 1 ? 'is not a date part' : 'are not date parts'}; use ${DATE_PARTS.join(', ')}.`];
  if (new Set(parts).size !== parts.length) return [`${where}.parts: a part is listed twice.`];
  return [];
}

/** Problems in a PipelineSpec (possibly user-written JSON); [] when it is valid. */
export function checkPipelineSpec(spec: unknown): string[] {
  if (!isObject(spec) || !Array.isArray(spec.columns)) return ['pipeline spec: expected an object with a "columns" array.'];
  const problems: string[] = [];
  if (spec.columns.length === 0) problems.push('pipeline spec: "columns" is empty; list at least one feature column.');
  const names = new Set<string>();
  spec.columns.forEach((column: unknown, c) => {
    const where = `columns[${c}]`;
    if (!isObject(column)) {
      problems.push(`${where}: expected an object with column, type and steps.`);
      return;
    }
    const named = typeof column.column === 'string' && column.column !== '' ? `${where} ("${column.column}")` : where;
    if (typeof column.column !== 'string' || column.column === '') problems.push(`${where}.column: expected a non-empty string.`);
    else if (names.has(column.column)) problems.push(`${named}: column "${column.column}" is listed twice.`);
    else names.add(column.column);
    if (!(COLUMN_TYPES as readonly unknown[]).includes(column.type)) {
      problems.push(`${named}.type: ${describe(column.type)} is not one of ${COLUMN_TYPES.join(', ')}.`);
      return;
    }
    const type = column.type as ColumnTransformSpec['type'];
    if (!Array.isArray(column.steps)) {
      problems.push(`${named}.steps: expected an array of steps.`);
      return;
    }
    const steps = column.steps as unknown[];
    if (!steps.every(isObject)) {
      problems.push(`${named}.steps: every step must be an object with a "kind".`);
      return;
    }
    problems.push(...checkStepKinds(named, type, steps.map((step) => String(step.kind))));
    problems.push(...checkMissing(named, column.missing, steps.map((step) => String(step.kind))));
    steps.forEach((step, s) => {
      const at = `${named}.steps[${s}]`;
      if (step.kind === 'impute') {
        if (!(IMPUTE_STRATEGIES as readonly unknown[]).includes(step.strategy)) {
          problems.push(`${at}.strategy: ${describe(step.strategy)} is not one of ${IMPUTE_STRATEGIES.join(', ')}.`);
        } else if (type !== 'numeric' && type !== 'date' && (step.strategy === 'median' || step.strategy === 'mean')) {
          problems.push(`${at}.strategy: "${step.strategy}" needs numbers; use most-frequent or constant for a ${type} column.`);
        } else if (step.strategy === 'constant') {
          problems.push(...checkImputeValue(`${at}.value`, type, step.value));
        }
      } else if (step.kind === 'one-hot') {
        if (!(UNSEEN_POLICIES as readonly unknown[]).includes(step.unseen)) {
          problems.push(`${at}.unseen: ${describe(step.unseen)} is not one of ${UNSEEN_POLICIES.join(', ')}.`);
        }
        if (step.drop !== undefined && step.drop !== 'first') problems.push(`${at}.drop: ${describe(step.drop)}; the only option is "first".`);
      } else if (step.kind === 'yes-no') {
        problems.push(...checkYesNo(at, step.yes ?? ['yes'], step.no ?? ['no']));
      } else if (step.kind === 'date') {
        if (step.parts !== undefined) problems.push(...checkDateParts(at, step.parts));
        if (step.standardize !== undefined && typeof step.standardize !== 'boolean') problems.push(`${at}.standardize: ${describe(step.standardize)}; expected true or false.`);
      }
    });
  });
  return problems;
}

function checkYesNo(where: string, yes: unknown, no: unknown): string[] {
  if (!isStringArray(yes) || yes.length === 0) return [`${where}.yes: expected a non-empty array of strings.`];
  if (!isStringArray(no) || no.length === 0) return [`${where}.no: expected a non-empty array of strings.`];
  const yesSet = new Set(yes.map((v) => v.trim().toLowerCase()));
  const both = no.filter((v) => yesSet.has(v.trim().toLowerCase()));
  return both.length === 0 ? [] : [`${where}: ${both.map((v) => `"${v}"`).join(', ')} listed as both yes and no.`];
}

function isSortedUnique(values: readonly string[]): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i - 1]! < values[i]!)) return false;
  return true;
}

/** The output feature names a fitted column must declare: one per kept category for one-hot, one per part for a date, else the column itself. */
export function expectedOutputs(column: string, type: ColumnTransformSpec['type'], categories: readonly string[] | undefined, drop?: 'first', dateParts?: readonly DatePart[]): string[] {
  if (type === 'date') return (dateParts ?? DEFAULT_DATE_PARTS).map((part) => datePartName(column, part));
  if (type !== 'categorical' || categories === undefined) return [column];
  const kept = drop === 'first' ? (categories ?? []).slice(1) : (categories ?? []);
  return kept.map((category) => `${column}=${category}`);
}

/** A numeric column's optional training range and hard bounds: finite numbers, min ≤ max. */
function checkLimits(where: string, type: ColumnTransformSpec['type'], range: unknown, bounds: unknown): string[] {
  const problems: string[] = [];
  const finite = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);
  if (range !== undefined) {
    if (type !== 'numeric') problems.push(`${where}.range: only numeric columns have a training range.`);
    else if (!isObject(range) || !finite(range.min) || !finite(range.max) || (range.min as number) > (range.max as number)) {
      problems.push(`${where}.range: expected {"min": …, "max": …} with finite numbers, min ≤ max.`);
    }
  }
  if (bounds !== undefined) {
    if (type !== 'numeric') problems.push(`${where}.bounds: only numeric columns have bounds.`);
    else if (
      !isObject(bounds) ||
      (bounds.min !== undefined && !finite(bounds.min)) ||
      (bounds.max !== undefined && !finite(bounds.max)) ||
      (finite(bounds.min) && finite(bounds.max) && (bounds.min as number) > (bounds.max as number))
    ) {
      problems.push(`${where}.bounds: expected {"min"?: …, "max"?: …} with finite numbers, min ≤ max.`);
    }
  }
  return problems;
}

/** Problems in a FittedPipeline read from disk; [] when it can be replayed safely. */
export function checkFittedPipeline(json: unknown): string[] {
  if (!isObject(json)) return ['pipeline: expected a JSON object.'];
  const problems: string[] = [];
  if (json.kind !== 'mlctl.pipeline') problems.push(`kind: ${describe(json.kind)}, expected "mlctl.pipeline".`);
  if (json.version !== 1) problems.push(`version: ${describe(json.version)}, expected 1 (this mlctl reads version 1).`);
  if (!Number.isInteger(json.fittedRows) || (json.fittedRows as number) < 0) {
    problems.push(`fittedRows: ${describe(json.fittedRows)}, expected a non-negative integer.`);
  }
  if (!isStringArray(json.featureNames)) problems.push('featureNames: expected an array of strings.');
  if (!Array.isArray(json.columns) || json.columns.length === 0) {
    problems.push('columns: expected a non-empty array.');
    return problems;
  }
  const allOutputs: string[] = [];
  const names = new Set<string>();
  json.columns.forEach((column: unknown, c) => {
    const where = `columns[${c}]`;
    if (!isObject(column)) {
      problems.push(`${where}: expected an object.`);
      return;
    }
    const named = typeof column.column === 'string' ? `${where} ("${column.column}")` : where;
    if (typeof column.column !== 'string' || column.column === '') problems.push(`${where}.column: expected a non-empty string.`);
    else if (names.has(column.column)) problems.push(`${named}: column listed twice.`);
    else names.add(column.column);
    if (!(COLUMN_TYPES as readonly unknown[]).includes(column.type)) {
      problems.push(`${named}.type: ${describe(column.type)} is not one of ${COLUMN_TYPES.join(', ')}.`);
      return;
    }
    const type = column.type as ColumnTransformSpec['type'];
    if (!Array.isArray(column.steps) || !column.steps.every(isObject)) {
      problems.push(`${named}.steps: expected an array of step objects.`);
      return;
    }
    const steps = column.steps as Json[];
    problems.push(...checkStepKinds(named, type, steps.map((step) => String(step.kind))));
    problems.push(...checkMissing(named, column.missing, steps.map((step) => String(step.kind))));
    let oneHot = false;
    let categories: string[] | undefined;
    let drop: 'first' | undefined;
    let dateParts: DatePart[] | undefined;
    steps.forEach((step, s) => {
      const at = `${named}.steps[${s}]`;
      switch (step.kind) {
        case 'impute':
          if (!(IMPUTE_STRATEGIES as readonly unknown[]).includes(step.strategy)) problems.push(`${at}.strategy: ${describe(step.strategy)} is not a strategy.`);
          problems.push(...checkImputeValue(`${at}.value`, type, step.value));
          if (!Number.isInteger(step.imputedInFit) || (step.imputedInFit as number) < 0) problems.push(`${at}.imputedInFit: expected a non-negative integer.`);
          break;
        case 'standardize':
          if (typeof step.mean !== 'number' || !Number.isFinite(step.mean)) problems.push(`${at}.mean: ${describe(step.mean)}, expected a finite number.`);
          if (typeof step.std !== 'number' || !Number.isFinite(step.std) || step.std <= 0) problems.push(`${at}.std: ${describe(step.std)}, expected a positive number.`);
          break;
        case 'yes-no':
          problems.push(...checkYesNo(at, step.yes, step.no));
          break;
        case 'ordinal':
          if (!isStringArray(step.categories) || !isSortedUnique(step.categories)) problems.push(`${at}.categories: expected a sorted array of distinct strings.`);
          break;
        case 'date': {
          const partProblems = checkDateParts(at, step.parts);
          problems.push(...partProblems);
          if (partProblems.length === 0) {
            dateParts = step.parts as DatePart[];
            const numbers = (value: unknown, positive: boolean): boolean =>
              Array.isArray(value) && value.length === dateParts!.length && value.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
            if (!numbers(step.mean, false)) problems.push(`${at}.mean: expected one finite number per part.`);
            if (!numbers(step.std, true)) problems.push(`${at}.std: expected one positive number per part.`);
          }
          break;
        }
        case 'one-hot':
          oneHot = true;
          if (!(UNSEEN_POLICIES as readonly unknown[]).includes(step.unseen)) problems.push(`${at}.unseen: ${describe(step.unseen)} is not one of ${UNSEEN_POLICIES.join(', ')}.`);
          if (step.drop !== undefined && step.drop !== 'first') problems.push(`${at}.drop: ${describe(step.drop)}; the only option is "first".`);
          else drop = step.drop;
          if (!isStringArray(step.categories) || step.categories.length === 0 || !isSortedUnique(step.categories)) {
            problems.push(`${at}.categories: expected a non-empty, sorted array of distinct strings.`);
          } else {
            categories = step.categories;
            if (typeof step.mostFrequent !== 'string' || !step.categories.includes(step.mostFrequent)) {
              problems.push(`${at}.mostFrequent: ${describe(step.mostFrequent)} is not one of the categories.`);
            }
          }
          break;
        default:
          break;
      }
    });
    problems.push(...checkLimits(named, type, column.range, column.bounds));
    const expected = type === 'date' ? expectedOutputs(String(column.column), 'date', undefined, undefined, dateParts) : expectedOutputs(String(column.column), oneHot ? type : 'numeric', categories, drop);
    if (!isStringArray(column.outputs) || column.outputs.length !== expected.length || column.outputs.some((name, i) => name !== expected[i])) {
      problems.push(`${named}.outputs: expected ${JSON.stringify(expected.length > 5 ? [...expected.slice(0, 5), '…'] : expected)}.`);
    }
    allOutputs.push(...expected);
  });
  if (isStringArray(json.featureNames)) {
    const names = json.featureNames;
    if (names.length !== allOutputs.length || names.some((name, i) => name !== allOutputs[i])) {
      problems.push(`featureNames: expected the columns' outputs in order (${allOutputs.length} names), found ${names.length}.`);
    }
  }
  return problems;
}
