import { describe, expect, it } from 'vitest';
import { describeOutput, interpretOutput } from '../../../src/core/bundle/output-meaning.js';
import { getTask } from '../../../src/core/tasks/task-registry.js';
import type { TaskSpec } from '../../../src/core/tasks/task-spec.js';

describe('what outputs mean', () => {
  it('binary: the threshold decides the label, encoding takes only the two labels', () => {
    const meaning = interpretOutput(describeOutput(getTask('income'), ['<=50K', '>50K']));
    const raw = Float32Array.from([0.2, 0.5, 0.9]);
    expect([0, 1, 2].map((i) => meaning.labelOf(raw, i))).toEqual(['<=50K', '>50K', '>50K']);
    expect(meaning.answer(raw, 0)).toEqual({ label: '<=50K', probability: raw[0] });
    expect(meaning.encodeTarget('>50K')).toBe(1);
    expect(meaning.encodeTarget(' <=50K ')).toBe(0);
    expect(meaning.encodeTarget('maybe')).toBeUndefined();
    const evaluation = meaning.evaluate(Float32Array.from([0, 1, 1]), raw);
    expect(evaluation.metrics.accuracy).toBeCloseTo(1, 10);
    expect(meaning.evaluate(Float32Array.from([0, 1, 1]), raw, { threshold: 0.95 }).metrics.accuracy).toBeCloseTo(1 / 3, 10);
  });

  it('binary without a negative label takes the one other value, and refuses a third', () => {
    const task: TaskSpec = { ...getTask('income'), target: { column: 'churn', positiveLabel: 'yes' } };
    expect(describeOutput(task, ['no', 'yes'])).toMatchObject({ negativeLabel: 'no' });
    expect(() => describeOutput(task, ['maybe', 'no', 'yes'])).toThrow(/3 distinct values/);
  });

  it('multiclass: argmax, probabilities per class, accuracy / macro F1 / log loss and an N×N confusion', () => {
    const task: TaskSpec = { ...getTask('income'), problemType: 'multiclass-classification', target: { column: 'species' } };
    const meaning = interpretOutput(describeOutput(task, ['a', 'b', 'c']));
    const raw = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.2, 0.5, 0.3]);
    expect(meaning.width).toBe(3);
    expect(meaning.answer(raw, 2)).toEqual({ label: 'b', probabilities: { a: raw[6], b: raw[7], c: raw[8] } });
    expect(meaning.encodeTarget('c')).toBe(2);
    const evaluation = meaning.evaluate(Float32Array.from([0, 1, 2]), raw);
    expect(evaluation.metrics.accuracy).toBeCloseTo(2 / 3, 10);
    expect(evaluation.classes?.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    // F1: a 1, b 2/3, c 0 → macro 5/9; log loss: −(ln .7 + ln .8 + ln .3) / 3.
    expect(evaluation.metrics.macro_f1).toBeCloseTo(5 / 9, 6);
    expect(evaluation.metrics.log_loss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.8) + Math.log(0.3)) / 3, 6);
  });

  it('regression: values and metrics in the target’s units when fitted on log1p', () => {
    const task: TaskSpec = { ...getTask('housing'), target: { column: 'price', transform: 'log1p' } };
    const meaning = interpretOutput(describeOutput(task, []));
    const raw = Float32Array.from([Math.log1p(100)]);
    expect(meaning.valueOf(raw, 0)).toBeCloseTo(100, 3);
    expect(meaning.encodeTarget('100')).toBeCloseTo(Math.log1p(100), 10);
    expect(meaning.encodeTarget('NaN')).toBeUndefined();
    expect(meaning.evaluate(Float64Array.from([Math.log1p(100)]), Float64Array.from([Math.log1p(110)])).metrics.mae).toBeCloseTo(10, 6);
  });
});
