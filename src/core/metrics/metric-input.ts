import { UsageError } from '../errors.js';

/** Both arrays non-empty and equally long; throws UsageError otherwise. */
export function checkPaired(what: string, yTrue: ArrayLike<number>, other: ArrayLike<number>, otherName: string): number {
  if (yTrue.length !== other.length) {
    throw new UsageError('METRICS_LENGTH_MISMATCH', `${what}: ${yTrue.length} true values but ${other.length} ${otherName}.`, {
      hint: 'Pass one prediction per labelled row.',
    });
  }
  if (yTrue.length === 0) {
    throw new UsageError('METRICS_EMPTY', `${what}: no rows to evaluate.`, { hint: 'Evaluate on a non-empty labelled set.' });
  }
  return yTrue.length;
}

/** Binary labels must be exactly 0 or 1; returns the count of positives. */
export function checkBinaryLabels(what: string, yTrue: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const y = yTrue[i]!;
    if (y === 1) positives++;
    else if (y !== 0) {
      throw new UsageError('METRICS_LABEL_INVALID', `${what}: label at index ${i} is ${String(y)}; binary metrics need 0 or 1.`, {
        hint: 'Encode the target with the positive label as 1 and the negative as 0.',
      });
    }
  }
  return positives;
}

/** Scores must be numbers (any real for rankings); `unit` further requires [0, 1]. */
export function checkScores(what: string, scores: ArrayLike<number>, unit: boolean): void {
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i]!;
    if (Number.isNaN(p) || (unit && (p < 0 || p > 1))) {
      throw new UsageError('METRICS_PROBABILITY_INVALID', `${what}: score at index ${i} is ${String(p)}; expected ${unit ? 'a probability in [0, 1]' : 'a number'}.`, {
        hint: 'Pass the model’s predicted probability of the positive class.',
      });
    }
  }
}

/** Checks finite numbers throughout (regression targets and predictions). */
export function checkFinite(what: string, values: ArrayLike<number>, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new UsageError('METRICS_VALUE_INVALID', `${what}: ${name} at index ${i} is ${String(values[i])}; expected a finite number.`);
    }
  }
}

/** a / b, or 0 when b is 0: the convention for precision, recall and F1 when undefined. */
export function safeDivide(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}
