/**
 * A booster as compact JSON (UTF-8). Numbers are written in JavaScript's shortest round-trip
 * form, so every threshold and leaf value parses back to the same double and a parsed booster
 * scores bit-identically. A threshold of +Infinity (every non-missing value left) is written
 * as null. Format:
 *
 *   { "format": "mlctl-gbt", "version": 1, "objective", "outputs", "features": [{ name, kind, cardinality? }],
 *     "baseScores": [...], "bestIteration", "iterationsRun", "params": {...},
 *     "trees": [{ "feature", "threshold", "left", "right", "defaultLeft", "categoryStart",
 *                 "categoryBits", "gain", "leafValue" }] }
 *
 * with the tree fields as in GbtTree (gbt-tree.ts), each a plain array.
 */
import { createBooster, type Booster, type BoosterFeature } from './gbt-booster.js';
import { readGbtParams } from './gbt-params.js';
import { bitsetWords, type GbtTree } from './gbt-tree.js';
import type { GbtObjectiveName } from './objectives.js';

export const BOOSTER_FORMAT = 'mlctl-gbt';
export const BOOSTER_FORMAT_VERSION = 1;

export function serializeBooster(booster: Booster): Uint8Array {
  const document = {
    format: BOOSTER_FORMAT,
    version: BOOSTER_FORMAT_VERSION,
    objective: booster.objective,
    outputs: booster.outputs,
    features: booster.features,
    baseScores: Array.from(booster.baseScores),
    bestIteration: booster.bestIteration,
    iterationsRun: booster.iterationsRun,
    params: booster.params,
    trees: booster.trees.map((tree) => ({
      feature: Array.from(tree.feature),
      threshold: Array.from(tree.threshold),
      left: Array.from(tree.left),
      right: Array.from(tree.right),
      defaultLeft: Array.from(tree.defaultLeft),
      categoryStart: Array.from(tree.categoryStart),
      categoryBits: Array.from(tree.categoryBits),
      gain: Array.from(tree.gain),
      leafValue: Array.from(tree.leafValue),
    })),
  };
  return new TextEncoder().encode(JSON.stringify(document));
}

/** Parses and checks a serialized booster; throws a plain Error saying what is wrong and where. */
export function parseBooster(bytes: Uint8Array): Booster {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new Error(`gbt model: not a JSON document (${(error as Error).message})`);
  }
  const root = record(document, 'the document');
  if (root.format !== BOOSTER_FORMAT) throw new Error(`gbt model: format must be "${BOOSTER_FORMAT}", got ${JSON.stringify(root.format)}`);
  if (root.version !== BOOSTER_FORMAT_VERSION) throw new Error(`gbt model: version ${JSON.stringify(root.version)} is not supported (this mlctl reads version ${BOOSTER_FORMAT_VERSION})`);
  const objective = root.objective;
  if (objective !== 'binary' && objective !== 'regression' && objective !== 'multiclass') throw new Error(`gbt model: objective must be binary, regression or multiclass, got ${JSON.stringify(objective)}`);
  const outputs = wholeNumber(root.outputs, 'outputs', 1);
  if ((objective === 'multiclass') !== outputs > 1 || (objective === 'multiclass' && outputs < 2)) throw new Error(`gbt model: outputs ${outputs} does not fit objective ${objective}`);
  const features = list(root.features, 'features').map((item, i) => parseFeature(item, i));
  if (features.length === 0) throw new Error('gbt model: features is empty');
  const baseScores = Float64Array.from(numbers(root.baseScores, 'baseScores', false));
  if (baseScores.length !== outputs) throw new Error(`gbt model: baseScores has ${baseScores.length} values for ${outputs} outputs`);
  const bestIteration = wholeNumber(root.bestIteration, 'bestIteration', 0);
  const iterationsRun = wholeNumber(root.iterationsRun, 'iterationsRun', bestIteration);
  const { params, problems } = readGbtParams(record(root.params, 'params'));
  if (problems.length > 0) throw new Error(`gbt model: params: ${problems.map((p) => `${p.param}: ${p.message}`).join('; ')}`);
  const trees = list(root.trees, 'trees').map((item, t) => parseTree(item, `trees[${t}]`, features));
  if (trees.length !== bestIteration * outputs) throw new Error(`gbt model: ${trees.length} trees for ${bestIteration} rounds of ${outputs} outputs`);
  return createBooster({ objective: objective as GbtObjectiveName, outputs, features, baseScores, trees, bestIteration, iterationsRun, params });
}

function parseFeature(item: unknown, i: number): BoosterFeature {
  const where = `features[${i}]`;
  const feature = record(item, where);
  if (typeof feature.name !== 'string') throw new Error(`gbt model: ${where}.name must be a string`);
  if (feature.kind === 'numeric') return { name: feature.name, kind: 'numeric' };
  if (feature.kind !== 'categorical') throw new Error(`gbt model: ${where}.kind must be numeric or categorical, got ${JSON.stringify(feature.kind)}`);
  return { name: feature.name, kind: 'categorical', cardinality: wholeNumber(feature.cardinality, `${where}.cardinality`, 0) };
}

function parseTree(item: unknown, where: string, features: readonly BoosterFeature[]): GbtTree {
  const tree = record(item, where);
  const field = (name: string, allowNull = false): number[] => numbers(tree[name], `${where}.${name}`, allowNull);
  const feature = field('feature');
  const n = feature.length;
  const threshold = field('threshold', true);
  const left = field('left');
  const right = field('right');
  const defaultLeft = field('defaultLeft');
  const categoryStart = field('categoryStart');
  const categoryBits = field('categoryBits');
  const gain = field('gain');
  const leafValue = field('leafValue');
  for (const [name, values] of [['threshold', threshold], ['left', left], ['right', right], ['defaultLeft', defaultLeft], ['categoryStart', categoryStart], ['gain', gain]] as const) {
    if (values.length !== n) throw new Error(`gbt model: ${where}.${name} has ${values.length} entries for ${n} split nodes`);
  }
  if (leafValue.length !== n + 1) throw new Error(`gbt model: ${where}.leafValue has ${leafValue.length} entries for ${n} split nodes (expected ${n + 1})`);
  const referenced = new Uint8Array(n + n + 1);
  for (let i = 0; i < n; i++) {
    const at = `${where} node ${i}`;
    const f = feature[i]!;
    const kind = features[f]?.kind;
    if (!Number.isInteger(f) || kind === undefined) throw new Error(`gbt model: ${at}: feature ${f} is not one of the ${features.length} features`);
    if (defaultLeft[i] !== 0 && defaultLeft[i] !== 1) throw new Error(`gbt model: ${at}: defaultLeft must be 0 or 1`);
    const start = categoryStart[i]!;
    if (kind === 'numeric') {
      if (start !== -1) throw new Error(`gbt model: ${at}: a numeric split needs categoryStart −1`);
      if (threshold[i] === null) threshold[i] = Number.POSITIVE_INFINITY;
      else if (!Number.isFinite(threshold[i])) throw new Error(`gbt model: ${at}: threshold must be a number`);
    } else {
      const words = bitsetWords(features[f]!.cardinality ?? 0);
      if (!Number.isInteger(start) || start < 0 || start + words > categoryBits.length) throw new Error(`gbt model: ${at}: categoryStart ${start} leaves no room for ${words} bitset words`);
      if (threshold[i] !== 0) throw new Error(`gbt model: ${at}: a categorical split needs threshold 0`);
    }
    for (const child of [left[i]!, right[i]!]) {
      // Children come after their parent, so a valid tree has no cycle; each node and leaf has one parent.
      const slot = child >= 0 ? child : n + ~child;
      if (!Number.isInteger(child) || (child >= 0 ? child <= i || child >= n : ~child > n)) throw new Error(`gbt model: ${at}: child ${child} is out of range`);
      if (referenced[slot] === 1) throw new Error(`gbt model: ${at}: child ${child} has two parents`);
      referenced[slot] = 1;
    }
  }
  for (const value of categoryBits) if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new Error(`gbt model: ${where}.categoryBits holds ${value}, not a 32-bit word`);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold as number[]),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    defaultLeft: Uint8Array.from(defaultLeft),
    categoryStart: Int32Array.from(categoryStart),
    categoryBits: Uint32Array.from(categoryBits),
    gain: Float64Array.from(gain),
    leafValue: Float64Array.from(leafValue),
  };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`gbt model: ${where} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`gbt model: ${where} must be an array`);
  return value;
}

/** An array of finite numbers (null allowed where `allowNull`, left as null for the caller). */
function numbers(value: unknown, where: string, allowNull: boolean): number[] {
  const items = list(value, where);
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (!((typeof v === 'number' && Number.isFinite(v)) || (allowNull && v === null))) throw new Error(`gbt model: ${where}[${i}] must be a finite number, got ${JSON.stringify(v)}`);
  }
  return items as number[];
}

function wholeNumber(value: unknown, where: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) throw new Error(`gbt model: ${where} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  return value;
}
