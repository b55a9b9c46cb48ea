import { describe, expect, it } from 'vitest';
import { isMlctlError, type MlctlError } from '../../../src/core/errors.js';
import { INCOME_TASK } from '../../../src/core/tasks/builtin-tasks.js';
import { editDistance, nearNames } from '../../../src/core/text/near-names.js';
import { parseOrderBy, parseRunFilter, type FilterExpression, type OrderTerm } from '../../../src/core/tracking/run-filter.js';
import { listFileRuns as listRuns } from '../../../src/core/tracking/file-tracking-store.js';
import { findCommand, loadProgram } from '../../helpers/program.js';
import { createFakeRun, createTempStore } from '../../helpers/run-fixtures.js';

function errorOf(fn: () => unknown): MlctlError {
  try {
    fn();
  } catch (error) {
    if (isMlctlError(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('near names', () => {
  it('measures edits and picks what was probably meant, nearest first', () => {
    expect(editDistance('acuracy', 'accuracy')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearNames('acuracy', ['auc', 'accuracy', 'val_accuracy', 'f1'])).toEqual(['accuracy']);
    expect(nearNames('LearningRate', ['learningRate', 'l2'])).toEqual(['learningRate']);
    expect(nearNames('zzz', ['accuracy'])).toEqual([]);
  });
});

describe('a filter naming a key no run has', () => {
  it('is a usage error naming the key and the near names runs have', async () => {
    const { store, cleanup } = createTempStore();
    try {
      await createFakeRun(store, { params: { learningRate: 0.004, optimizer: 'adam' }, metrics: { accuracy: [0.85], auc: [0.9] }, tags: { stage: 'candidate' } });
      const typo = errorOf(() => listRuns(store, { filter: 'metrics.acuracy > 0.8' }));
      expect([typo.code, typo.category]).toEqual(['UNKNOWN_RUN_KEY', 'usage']);
      expect(typo.message).toBe(`no run in ${store.root} has metrics.acuracy`);
      expect(typo.problems).toEqual(['metrics.acuracy: no run has it; did you mean metrics.accuracy?']);
      // Every unknown key at once, in the filter and the order; a key of another kind is near too.
      const several = errorOf(() => listRuns(store, { filter: "params.lr = 0.001 or tags.stage = 'x'", orderBy: 'params.auc desc' }));
      expect(several.message).toBe(`no run in ${store.root} has params.lr, params.auc`);
      expect(several.problems[0]).toBe('params.lr: no run has it; runs have params learningRate, optimizer');
      expect(several.problems[1]).toBe('params.auc: no run has it; did you mean metrics.auc?');
      // A known key that no run matches is an empty answer, not an error.
      expect(listRuns(store, { filter: 'metrics.accuracy > 0.99' }).total).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('is not checked in a store without runs', () => {
    const { store, cleanup } = createTempStore();
    try {
      expect(listRuns(store, { filter: 'metrics.acuracy > 0.8' }).total).toBe(0);
    } finally {
      cleanup();
    }
  });
});

describe('the filter examples in --help', () => {
  // What an income training run records (train-task.ts): the task's model params and these,
  // its test metrics and per-epoch metrics, and the gate tags.
  const params = new Set(['task', 'dataset', 'model_family', 'seed', 'validation_fraction', 'backend', ...Object.keys(INCOME_TASK.model.params)]);
  const metrics = new Set([...INCOME_TASK.metrics, 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'val_auc']);
  const tags = new Set(['mlctl.gates', 'mlctl.stopped_early']);

  function keysOf(expression: FilterExpression | undefined, terms: readonly OrderTerm[] = []): string[] {
    const out: string[] = [];
    const visit = (e: FilterExpression): void => {
      if (e.kind !== 'comparison') {
        visit(e.left);
        visit(e.right);
      } else if (e.field.kind !== 'attribute') out.push(`${e.field.kind}:${e.field.key}`);
    };
    if (expression !== undefined) visit(expression);
    for (const t of terms) if (t.field.kind !== 'attribute') out.push(`${t.field.kind}:${t.field.key}`);
    return out;
  }

  it('name only params, metrics and tags that training records (runs record learningRate, not lr)', async () => {
    const { program, stdout } = await loadProgram();
    const examples: string[] = [];
    for (const path of [['runs'], ['runs', 'list'], ['runs', 'export']]) {
      stdout.text = '';
      findCommand(program, path)!.outputHelp();
      examples.push(...stdout.text.split('\n').filter((line) => /^\s+\$ mlctl /.test(line)));
    }
    const found: string[] = [];
    for (const example of examples) {
      const filter = /--filter "([^"]*)"/.exec(example)?.[1];
      const order = /--order-by "([^"]*)"/.exec(example)?.[1];
      found.push(...keysOf(filter === undefined ? undefined : parseRunFilter(filter), order === undefined ? [] : parseOrderBy(order)));
    }
    expect(found).toContain('param:learningRate');
    for (const key of found) {
      const [kind, name] = key.split(':') as [string, string];
      expect((kind === 'param' ? params : kind === 'metric' ? metrics : tags).has(name), `${key} in a --help example`).toBe(true);
    }
  });
});
