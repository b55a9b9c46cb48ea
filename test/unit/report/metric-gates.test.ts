import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { checkBounds, checkRegressions, describeBoundFailure, describeRegressionFailure, metricDirection, parseMetricBounds } from '../../../src/core/report/metric-gates.js';

describe('parseMetricBounds', () => {
  it('reads metric=value pairs, spaces allowed', () => {
    expect(parseMetricBounds('--fail-under', 'accuracy=0.85, auc=0.9')).toEqual({ accuracy: 0.85, auc: 0.9 });
  });

  it('reports every malformed entry at once, naming the flag', () => {
    try {
      parseMetricBounds('--fail-under', 'auc=,0.9,accuracy=high,auc=0.8,f1=0.5,f1=0.6');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      const e = error as UsageError;
      expect(e.message).toContain('--fail-under');
      expect(e.problems).toHaveLength(4);
      expect(e.problems.join('\n')).toMatch(/"auc=": auc needs a number/);
      expect(e.problems.join('\n')).toMatch(/"0.9": expected metric=number/);
      expect(e.problems.join('\n')).toMatch(/accuracy needs a number/);
      expect(e.problems.join('\n')).toMatch(/f1 is given twice/);
    }
  });

  it('refuses an empty list', () => {
    expect(() => parseMetricBounds('--max-regression', ' , ')).toThrow(/could not be read/);
  });
});

describe('metric direction', () => {
  it('treats losses and errors as lower-is-better, everything else as higher', () => {
    expect(['log_loss', 'rmse', 'mae', 'val_loss', 'train_loss'].map(metricDirection)).toEqual(['lower', 'lower', 'lower', 'lower', 'lower']);
    expect(['accuracy', 'auc', 'f1', 'r2', 'precision', 'recall'].map(metricDirection)).toEqual(['higher', 'higher', 'higher', 'higher', 'higher', 'higher']);
  });
});

describe('checkBounds (--fail-under)', () => {
  const metrics = { accuracy: 0.84, auc: 0.91, log_loss: 0.35, rmse: 12 };

  it('fails each metric below its bound, in its own direction, and names them all', () => {
    const checks = checkBounds({ accuracy: 0.85, auc: 0.9, log_loss: 0.3, rmse: 12 }, metrics);
    expect(checks.map((c) => [c.metric, c.passed])).toEqual([
      ['accuracy', false],
      ['auc', true],
      ['log_loss', false],
      // Equal to the bound passes, for a lower-better metric too.
      ['rmse', true],
    ]);
    expect(checks.filter((c) => !c.passed).map(describeBoundFailure)).toEqual(['accuracy = 0.8400, needs >= 0.85', 'log_loss = 0.3500, needs <= 0.3']);
  });

  it('fails a metric the model did not produce, or produced as NaN', () => {
    const [missing, nan] = checkBounds({ r2: 0.5, auc: 0.5 }, { auc: Number.NaN });
    expect(missing).toMatchObject({ metric: 'r2', value: null, passed: false });
    expect(nan).toMatchObject({ metric: 'auc', value: null, passed: false });
    expect(describeBoundFailure(missing!)).toMatch(/not produced/);
  });
});

describe('checkRegressions (--compare-to --max-regression)', () => {
  const champion = { accuracy: 0.86, auc: 0.91, log_loss: 0.3, rmse: 100 };

  it('fails a higher-better metric that dropped by more than its tolerance', () => {
    const checks = checkRegressions({ ...champion, auc: 0.904 }, champion, { auc: 0.005 });
    const auc = checks.find((c) => c.metric === 'auc')!;
    expect(auc.change).toBeCloseTo(-0.006, 10);
    expect(auc.regression).toBeCloseTo(0.006, 10);
    expect(auc.passed).toBe(false);
    expect(describeRegressionFailure(auc)).toBe("auc = 0.9040 is 0.0060 lower than the champion's 0.9100 (tolerance 0.005)");
  });

  it('passes a drop within the tolerance, exactly at it, and any improvement', () => {
    expect(checkRegressions({ auc: 0.906 }, { auc: 0.91 }, { auc: 0.005 })[0]!.passed).toBe(true);
    expect(checkRegressions({ auc: 0.905 }, { auc: 0.91 }, { auc: 0.005 })[0]!.passed).toBe(true);
    expect(checkRegressions({ auc: 0.95 }, { auc: 0.91 }, { auc: 0 })[0]!.passed).toBe(true);
  });

  it('counts a higher loss or error as the regression', () => {
    const checks = checkRegressions({ log_loss: 0.32, rmse: 90 }, { log_loss: 0.3, rmse: 100 }, { log_loss: 0.01, rmse: 0 });
    const loss = checks.find((c) => c.metric === 'log_loss')!;
    expect(loss.regression).toBeCloseTo(0.02, 10);
    expect(loss.passed).toBe(false);
    expect(describeRegressionFailure(loss)).toMatch(/higher than the champion/);
    // A lower RMSE is an improvement: negative regression, passes a zero tolerance.
    const rmse = checks.find((c) => c.metric === 'rmse')!;
    expect(rmse.regression).toBe(-10);
    expect(rmse.passed).toBe(true);
  });

  it('reports ungated metrics without failing on them, and fails a gated metric it cannot compare', () => {
    const checks = checkRegressions({ accuracy: 0.5 }, { accuracy: 0.9, auc: 0.9 }, { auc: 0.01 });
    expect(checks.find((c) => c.metric === 'accuracy')).toMatchObject({ tolerance: null, passed: true });
    expect(checks.find((c) => c.metric === 'auc')).toMatchObject({ candidate: null, regression: null, passed: false });
  });
});
