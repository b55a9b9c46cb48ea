import { describe, expect, it } from 'vitest';
import { interpretOutput } from '../../../src/core/bundle/output-meaning.js';
import { MlctlError } from '../../../src/core/errors.js';
import { compareWithProfile } from '../../../src/core/monitoring/compare-drift.js';
import { populationStabilityIndex } from '../../../src/core/monitoring/drift-measures.js';
import {
  checkThresholdNames,
  parseThresholdFlag,
  resolveThresholds,
} from '../../../src/core/monitoring/drift-thresholds.js';
import { countsFromWindows, createMemoryHistogramStore, OUTPUT_KEY, windowFromCounts } from '../../../src/core/monitoring/histogram-store.js';
import { createProfileBinner } from '../../../src/core/monitoring/profile-binner.js';
import type { ReferenceProfile } from '../../../src/core/monitoring/reference-profile.js';
import { bar, textHistogram } from '../../../src/core/report/text-histogram.js';

/** A hand-written profile of 100 rows: a numeric input in two bins, a categorical one, a binary output. */
const PROFILE: ReferenceProfile = {
  kind: 'mlctl.profile',
  version: 1,
  rows: 100,
  bins: 2,
  features: [
    { kind: 'numeric', name: 'age', edges: [40], counts: [50, 50], missing: 0 },
    { kind: 'categorical', name: 'workclass', categories: ['Private', 'State-gov'], counts: [80, 20], other: 0, missing: 0 },
    { kind: 'categorical', name: 'sex', categories: ['Female', 'Male'], counts: [50, 50], other: 0, missing: 0 },
  ],
  output: { kind: 'numeric', name: 'P(income = >50K)', edges: [0.5], counts: [70, 30], missing: 0 },
};
const MEANING = interpretOutput({ kind: 'binary-probability', target: 'income', positiveLabel: '>50K', negativeLabel: '<=50K', threshold: 0.5 });

function caught(fn: () => unknown): MlctlError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected an MlctlError');
}

/** 100 current rows: all older than 40, workclass 60/30 with 10 unseen, sex as in training. */
function shiftedCounts(): Float64Array {
  const binner = createProfileBinner(PROFILE, MEANING);
  const counts = binner.newCounts();
  for (let i = 0; i < 100; i++) {
    binner.addRecord({ age: 60, workclass: i < 60 ? 'Private' : i < 90 ? 'State-gov' : 'Gig', sex: i % 2 === 0 ? 'Male' : 'Female' }, counts);
    binner.addOutput(Float32Array.from([i < 70 ? 0.1 : 0.9]), 0, counts);
  }
  return counts;
}

describe('compareWithProfile', () => {
  const binner = createProfileBinner(PROFILE, MEANING);

  it('measures PSI per input, JS for categoricals, and decides by PSI > 0.2 by default', () => {
    const c = compareWithProfile(binner, shiftedCounts(), 100, resolveThresholds(undefined));
    expect(c.features.map((f) => f.feature)).toEqual(['age', 'workclass', 'sex']);
    const [age, workclass, sex] = c.features;
    expect(age!.psi).toBeCloseTo(populationStabilityIndex([50, 50, 0], [0, 100, 0]), 12);
    expect(age!.js).toBeNull();
    expect(workclass!.psi).toBeCloseTo(populationStabilityIndex([80, 20, 0, 0], [60, 30, 10, 0]), 12);
    expect(workclass!.bins.find((b) => b.label === 'other')).toEqual({ label: 'other', reference: 0, current: 0.1, referenceCount: 0, currentCount: 10 });
    expect(workclass!.js).toBeGreaterThan(0.2);
    expect(sex).toMatchObject({ psi: 0, js: 0, drifted: false });
    expect(c.drifted).toEqual(['age', 'workclass']);
    expect(c.driftedShare).toBeCloseTo(2 / 3, 12);
    // The output is measured and judged, but is not one of the inputs.
    expect(c.output).toMatchObject({ feature: 'P(income = >50K)', psi: 0, drifted: false });
  });

  it('applies per-input PSI thresholds and, where one is set, a Jensen–Shannon threshold', () => {
    const lenient = compareWithProfile(binner, shiftedCounts(), 100, resolveThresholds({ features: { workclass: { psi: 5 } } }));
    expect(lenient.drifted).toEqual(['age']);
    expect(lenient.features.find((f) => f.feature === 'workclass')!.threshold).toEqual({ psi: 5, js: null });
    const strict = compareWithProfile(binner, shiftedCounts(), 100, resolveThresholds({ features: { workclass: { psi: 5, js: 0.1 } } }));
    expect(strict.features.find((f) => f.feature === 'workclass')).toMatchObject({ drifted: true, exceeded: ['js'] });
  });

  it('sorts drifted inputs first, then by PSI', () => {
    const c = compareWithProfile(binner, shiftedCounts(), 100, resolveThresholds(undefined, { psi: { features: { age: 100 } } }));
    expect(c.features.map((f) => [f.feature, f.drifted])).toEqual([
      ['workclass', true],
      ['age', false],
      ['sex', false],
    ]);
  });
});

describe('thresholds', () => {
  it('parses a default, per-input values, or both, and reports every bad part', () => {
    expect(parseThresholdFlag('--psi-threshold', 'psi', '0.25')).toEqual({ all: 0.25, features: {} });
    expect(parseThresholdFlag('--psi-threshold', 'psi', '0.25, age=0.3,fnlwgt=1')).toEqual({ all: 0.25, features: { age: 0.3, fnlwgt: 1 } });
    expect(caught(() => parseThresholdFlag('--psi-threshold', 'psi', ' , ')).problems).toEqual(['expected a number, or input=number pairs separated by commas']);
    const error = caught(() => parseThresholdFlag('--js-threshold', 'js', 'age=2,=0.1,x=abc,-1'));
    expect(error.code).toBe('DRIFT_THRESHOLD_INVALID');
    expect(error.problems).toEqual([
      'age: a Jensen–Shannon distance is at most 1, got 2',
      '"=0.1": name an input before "="',
      'x: expected a number, got "abc"',
      'default: expected a number above 0, got -1',
    ]);
  });

  it('takes defaults, then the task file, then flags', () => {
    expect(resolveThresholds(undefined)).toEqual({ psi: 0.2, js: null, features: {}, output: 0.2 });
    const task = { psiThreshold: 0.3, jsThreshold: 0.15, features: { age: { psi: 0.5 } }, output: { psi: 0.4 } };
    expect(resolveThresholds(task)).toEqual({ psi: 0.3, js: 0.15, features: { age: { psi: 0.5 } }, output: 0.4 });
    expect(resolveThresholds(task, { psi: { all: 0.25, features: { age: 0.6 } }, js: { features: { sex: 0.2 } }, output: 0.1 })).toEqual({
      psi: 0.25,
      js: 0.15,
      features: { age: { psi: 0.6 }, sex: { js: 0.2 } },
      output: 0.1,
    });
    // Without its own, the output follows the inputs' PSI threshold.
    expect(resolveThresholds({ psiThreshold: 0.3 }).output).toBe(0.3);
  });

  it('refuses thresholds for inputs the model does not read, naming the near miss', () => {
    const error = caught(() => checkThresholdNames(resolveThresholds(undefined, { psi: { features: { agee: 1 } }, js: { features: { age: 0.2 } } }), PROFILE.features));
    expect(error.problems).toEqual(['"agee" is not an input of this model (did you mean "age"?)', '"age" is numeric: the Jensen–Shannon distance is measured on categorical inputs only']);
  });

});

describe('histogram windows (the seam serve will fill)', () => {
  const binner = createProfileBinner(PROFILE, MEANING);

  it('round-trips counts through windows and sums windows into one histogram', async () => {
    const counts = shiftedCounts();
    const store = createMemoryHistogramStore();
    const start = new Date('2026-12-01T10:00:00Z');
    for (let w = 0; w < 3; w++) {
      const from = new Date(start.getTime() + w * 300_000);
      await store.append(windowFromCounts(binner, counts, { model: 'income', version: '1', start: from, end: new Date(from.getTime() + 300_000), rows: 100 }));
    }
    await store.append(windowFromCounts(binner, counts, { model: 'income', version: '2', start, end: start, rows: 100 }));
    const windows = await store.windows({ model: 'income', version: '1', from: new Date(start.getTime() + 1), to: new Date('2026-12-02') });
    expect(windows.map((w) => w.start.toISOString())).toEqual(['2026-12-01T10:05:00.000Z', '2026-12-01T10:10:00.000Z']);
    expect(windows[0]!.counts.workclass).toEqual([60, 30, 10, 0]);
    expect(windows[0]!.counts[OUTPUT_KEY]).toEqual([70, 30, 0]);
    const summed = countsFromWindows(binner, windows);
    expect(summed.rows).toBe(200);
    expect([...summed.counts]).toEqual([...counts].map((c) => 2 * c));
    // Summed windows compare exactly as one CSV of the same rows would.
    expect(compareWithProfile(binner, summed.counts, summed.rows, resolveThresholds(undefined)).features.map((f) => f.psi)).toEqual(
      compareWithProfile(binner, counts, 100, resolveThresholds(undefined)).features.map((f) => f.psi),
    );
  });

  it('refuses a window binned against another profile', () => {
    const window = windowFromCounts(binner, shiftedCounts(), { model: 'income', version: '1', start: new Date(0), end: new Date(1), rows: 100 });
    const other = { ...window, counts: { ...window.counts, age: [1, 2] } };
    expect(caught(() => countsFromWindows(binner, [other])).code).toBe('HISTOGRAM_PROFILE_MISMATCH');
  });
});

describe('text histograms', () => {
  it('draws bars in eighths on one scale, and never hides a non-zero share', () => {
    expect(bar(1, 1, 4)).toBe('████');
    expect(bar(0.5, 1, 4)).toBe('██');
    expect(bar(0.3, 1, 4)).toBe('█▎');
    expect(bar(0.0001, 1, 4)).toBe('▏');
    expect(bar(0, 1, 4)).toBe('');
  });

  it('shows reference and current per bin, leaving out bins empty on both sides and the ones that moved least', () => {
    const bins = [
      { label: 'a', reference: 0.5, current: 0.1, referenceCount: 50, currentCount: 10 },
      { label: 'b', reference: 0.5, current: 0.5, referenceCount: 50, currentCount: 50 },
      { label: 'other', reference: 0, current: 0.4, referenceCount: 0, currentCount: 40 },
      { label: 'missing', reference: 0, current: 0, referenceCount: 0, currentCount: 0 },
    ];
    const lines = textHistogram(bins, { width: 10, maxBins: 2 });
    expect(lines).toEqual([
      '  bin    reference          current',
      '  a      ██████████  50.0%  ██          10.0%',
      '  other               0.0%  ████████    40.0%',
      '  … 1 more bin that moved less',
    ]);
  });
});
