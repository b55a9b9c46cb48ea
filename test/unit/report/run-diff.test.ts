import { describe, expect, it } from 'vitest';
import { diffRuns } from '../../../src/core/report/run-diff.js';
import { escapeMarkdown, markdownTable } from '../../../src/core/report/markdown.js';

describe('diffRuns', () => {
  const a = { id: 'aaaa', name: 'first', params: { epochs: 2, lr: 0.002, seed: 42, only_a: 'x' }, metrics: { auc: 0.9, log_loss: 0.3, accuracy: 0 } };
  const b = { id: 'bbbb', params: { epochs: 5, lr: 0.002, seed: 42, only_b: true }, metrics: { auc: 0.918, log_loss: 0.33, accuracy: 0.5, r2: 0.7 } };
  const diff = diffRuns(a, b);

  it('lists every param of either run, sorted, marking the changed ones', () => {
    expect(diff.params.map((p) => [p.key, p.a, p.b, p.changed])).toEqual([
      ['epochs', 2, 5, true],
      ['lr', 0.002, 0.002, false],
      ['only_a', 'x', undefined, true],
      ['only_b', undefined, true, true],
      ['seed', 42, 42, false],
    ]);
  });

  it('gives change, percentage of A and a verdict by the metric direction', () => {
    const byKey = Object.fromEntries(diff.metrics.map((m) => [m.key, m]));
    expect(byKey.auc!.change).toBeCloseTo(0.018, 12);
    expect(byKey.auc!.percent).toBeCloseTo(2, 10);
    expect(byKey.auc!.verdict).toBe('better');
    // A higher loss is worse.
    expect(byKey.log_loss!.percent).toBeCloseTo(10, 10);
    expect(byKey.log_loss!.verdict).toBe('worse');
    // No percentage of zero; a metric only B has cannot be compared.
    expect(byKey.accuracy).toMatchObject({ change: 0.5, percent: null, verdict: 'better' });
    expect(byKey.r2).toMatchObject({ a: null, b: 0.7, change: null, percent: null, verdict: 'n/a' });
  });

  it('keeps the ids and names of both runs', () => {
    expect(diff.a).toEqual({ id: 'aaaa', name: 'first' });
    expect(diff.b).toEqual({ id: 'bbbb' });
  });
});

describe('markdownTable', () => {
  it('writes a GitHub pipe table with right-aligned number columns, escaping cell text', () => {
    expect(markdownTable(['metric', 'value'], [['a|b', 0.5], ['log_loss', null]], [1])).toBe(
      ['| metric | value |', '| --- | ---: |', '| a\\|b | 0.5 |', '| log\\_loss |  |'].join('\n'),
    );
  });

  it('flattens newlines so a cell cannot break the table', () => {
    expect(escapeMarkdown('two\nlines')).toBe('two lines');
  });
});
