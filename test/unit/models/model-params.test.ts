import { describe, expect, it } from 'vitest';
import { describeAllowed, flagOf, parseParamText, resolveParams, type ParamSpecs } from '../../../src/core/models/model-params.js';
import { resolveModelSpec } from '../../../src/core/models/model-families.js';
import { didYouMean, editDistance, nearNames } from '../../../src/core/text/near-names.js';

const SPECS: ParamSpecs = {
  maxLeaves: { type: 'int', default: 31, min: 2, max: 131072, description: 'leaves per tree' },
  learningRate: { type: 'number', default: 0.1, min: 0, max: 1, exclusiveMin: true, description: 'shrinkage' },
  intercept: { type: 'boolean', default: true, description: 'fit an intercept' },
  verbose: { type: 'boolean', default: false, description: 'talk' },
  optimizer: { type: 'choice', default: 'adam', choices: ['adam', 'sgd'], description: 'optimizer' },
  hiddenLayers: { type: 'int-list', default: [8], min: 1, max: 4096, minItems: 0, maxItems: 4, description: 'layers' },
};

describe('hyper-parameters as data', () => {
  it('fills defaults and reports every problem, naming the parameter, the range and the value', () => {
    const { params, problems } = resolveParams(SPECS, { maxLeaves: 1, learningRate: 0, optimizer: 'adamw', hiddenLayers: [0, 3], maxleaves: 4 });
    expect(params).toEqual({ maxLeaves: 31, learningRate: 0.1, intercept: true, verbose: false, optimizer: 'adam', hiddenLayers: [8] });
    expect(problems).toEqual([
      { param: 'maxLeaves', message: 'must be a whole number from 2 to 131072, got 1' },
      { param: 'learningRate', message: 'must be a number > 0 and ≤ 1, got 0' },
      { param: 'optimizer', message: 'must be one of adam, sgd, got "adamw"' },
      { param: 'hiddenLayers', message: 'must be a list of 0 to 4 whole numbers from 1 to 4096, got [0,3]' },
      { param: 'maxleaves', message: 'is not a parameter of this model family (did you mean "maxLeaves"?); it takes maxLeaves, learningRate, intercept, verbose, optimizer, hiddenLayers' },
    ]);
  });

  it('keeps what is valid, so a partial object changes only what it names', () => {
    expect(resolveParams(SPECS, { learningRate: 0.5, intercept: false }).params).toMatchObject({ learningRate: 0.5, intercept: false, maxLeaves: 31 });
    expect(resolveParams(SPECS, {}).problems).toEqual([]);
  });

  it('derives flags: kebab-case, and --no- for a boolean that defaults to true', () => {
    expect(flagOf('maxLeaves', SPECS.maxLeaves!)).toBe('--max-leaves');
    expect(flagOf('intercept', SPECS.intercept!)).toBe('--no-intercept');
    expect(flagOf('verbose', SPECS.verbose!)).toBe('--verbose');
    expect(flagOf('l2', { type: 'number', default: 0, description: '' })).toBe('--l2');
    expect(flagOf('x', { type: 'int', default: 0, description: '', flag: false })).toBeUndefined();
  });

  it('parses flag text as the parameter type and says what it wanted', () => {
    expect(parseParamText(SPECS.hiddenLayers!, '64, 32')).toEqual([64, 32]);
    expect(parseParamText(SPECS.maxLeaves!, '-5')).toBe(-5);
    expect(() => parseParamText(SPECS.maxLeaves!, '0x20')).toThrow('must be a whole number from 2 to 131072, got "0x20"');
    expect(() => parseParamText(SPECS.learningRate!, 'fast')).toThrow(/must be a number > 0 and ≤ 1/);
    expect(describeAllowed(SPECS.intercept!)).toBe('true or false');
  });

  it('checks a task model section against the family table', () => {
    expect(resolveModelSpec({ family: 'mpl' }, 'regression').problems[0]?.message).toMatch(/"mpl" is not a model family \(did you mean "mlp"\?\)/);
    expect(resolveModelSpec({ family: 'linear' }, 'binary-classification').problems[0]?.message).toMatch(/linear does not fit binary-classification/);
    expect(resolveModelSpec({ family: 'linear', params: {} }, 'regression').model.params).toEqual({ intercept: true });
  });
});

describe('near names', () => {
  it('measures edits and suggests close names only', () => {
    expect(editDistance('acuracy', 'accuracy')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('mpl', 'mlp')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearNames('acuracy', ['accuracy', 'auc', 'log_loss'])).toEqual(['accuracy']);
    expect(nearNames('zzz', ['accuracy'])).toEqual([]);
    expect(didYouMean('lr', ['learningRate'])).toBe('');
    expect(didYouMean('epoch', ['epochs', 'patience'])).toBe(' (did you mean "epochs"?)');
  });
});
