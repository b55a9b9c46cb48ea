/**
 * Hyper-parameters as data. A family declares each parameter once — type, default, allowed
 * range, description — and everything else follows from it: defaults for what a task leaves
 * out, validation that reports every problem naming the parameter and its range, and the
 * `mlctl train` flag (`maxLeaves` → `--max-leaves`; a boolean that defaults to true →
 * `--no-<name>`).
 */
import { didYouMean } from '../text/near-names.js';

interface ParamSpecBase {
  readonly description: string;
  /** The train flag, when it differs from the kebab-case of the name; false: no flag. */
  readonly flag?: string | false;
}

export type ParamSpec =
  | (ParamSpecBase & { readonly type: 'int'; readonly default: number; readonly min?: number; readonly max?: number })
  | (ParamSpecBase & {
      readonly type: 'number';
      readonly default: number;
      readonly min?: number;
      readonly max?: number;
      /** The bound itself is not allowed (a learning rate > 0). */
      readonly exclusiveMin?: boolean;
      readonly exclusiveMax?: boolean;
    })
  | (ParamSpecBase & { readonly type: 'boolean'; readonly default: boolean })
  | (ParamSpecBase & { readonly type: 'choice'; readonly default: string; readonly choices: readonly string[] })
  | (ParamSpecBase & {
      readonly type: 'int-list';
      readonly default: readonly number[];
      readonly min?: number;
      readonly max?: number;
      readonly minItems?: number;
      readonly maxItems?: number;
    });

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;
export type ParamValue = number | boolean | string | readonly number[];
export type ParamValues = Readonly<Record<string, ParamValue>>;

export interface ParamProblem {
  readonly param: string;
  readonly message: string;
}

/** The defaults of every parameter. */
export function defaultParams(specs: ParamSpecs): Record<string, ParamValue> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.default]));
}

/** "a whole number from 2 to 131072", "a number > 0 and ≤ 1", "one of adam, sgd". */
export function describeAllowed(spec: ParamSpec): string {
  switch (spec.type) {
    case 'int':
      return `a whole number${rangeText(spec.min, spec.max, false, false)}`;
    case 'number':
      return `a number${rangeText(spec.min, spec.max, spec.exclusiveMin === true, spec.exclusiveMax === true)}`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'int-list': {
      const items = spec.minItems === spec.maxItems && spec.minItems !== undefined ? `${spec.minItems}` : `${spec.minItems ?? 1}${spec.maxItems === undefined ? ' or more' : ` to ${spec.maxItems}`}`;
      return `a list of ${items} whole numbers${rangeText(spec.min, spec.max, false, false)}`;
    }
  }
}

function rangeText(min: number | undefined, max: number | undefined, exclusiveMin: boolean, exclusiveMax: boolean): string {
  if (min !== undefined && max !== undefined && !exclusiveMin && !exclusiveMax) return ` from ${min} to ${max}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${exclusiveMin ? '>' : '≥'} ${min}`);
  if (max !== undefined) parts.push(`${exclusiveMax ? '<' : '≤'} ${max}`);
  return parts.length === 0 ? '' : ` ${parts.join(' and ')}`;
}

function inRange(value: number, spec: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean }): boolean {
  if (spec.min !== undefined && (spec.exclusiveMin === true ? value <= spec.min : value < spec.min)) return false;
  if (spec.max !== undefined && (spec.exclusiveMax === true ? value >= spec.max : value > spec.max)) return false;
  return true;
}

/** Whether `value` is allowed for `spec`. */
export function isValidParam(spec: ParamSpec, value: unknown): value is ParamValue {
  switch (spec.type) {
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) && inRange(value, spec);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && inRange(value, spec);
    case 'boolean':
      return typeof value === 'boolean';
    case 'choice':
      return typeof value === 'string' && spec.choices.includes(value);
    case 'int-list':
      return (
        Array.isArray(value) &&
        value.length >= (spec.minItems ?? 1) &&
        (spec.maxItems === undefined || value.length <= spec.maxItems) &&
        value.every((v) => typeof v === 'number' && Number.isInteger(v) && inRange(v, spec))
      );
  }
}

/**
 * `input` merged over the defaults and checked: every problem is returned, each naming the
 * parameter, what is allowed and what was given; unknown keys are problems with a "did you
 * mean". `params` is complete (defaults where the input was missing or invalid).
 */
export function resolveParams(specs: ParamSpecs, input: Readonly<Record<string, unknown>>): { params: Record<string, ParamValue>; problems: ParamProblem[] } {
  const params = defaultParams(specs);
  const problems: ParamProblem[] = [];
  for (const [name, value] of Object.entries(input)) {
    const spec = specs[name];
    if (spec === undefined) {
      problems.push({ param: name, message: `is not a parameter of this model family${didYouMean(name, Object.keys(specs))}; it takes ${Object.keys(specs).join(', ')}` });
      continue;
    }
    if (value === undefined) continue;
    if (isValidParam(spec, value)) params[name] = value;
    else problems.push({ param: name, message: `must be ${describeAllowed(spec)}, got ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}` });
  }
  return { params, problems };
}

/** A parameter's train flag, or undefined when it has none. */
export function flagOf(name: string, spec: ParamSpec): string | undefined {
  if (spec.flag === false) return undefined;
  if (typeof spec.flag === 'string') return spec.flag;
  const kebab = name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return spec.type === 'boolean' && spec.default ? `--no-${kebab}` : `--${kebab}`;
}

/**
 * Reads a flag's text as the parameter's type (ranges are checked later, by resolveParams,
 * so a task file and a flag get the same message). Throws an Error whose message says what
 * the text should look like.
 */
export function parseParamText(spec: ParamSpec, text: string): ParamValue {
  switch (spec.type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(text.trim())) throw new Error(`must be ${describeAllowed(spec)}, got "${text}"`);
      return Number(text);
    }
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`must be ${describeAllowed(spec)}, got "${text}"`);
      return n;
    }
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new Error(`must be true or false, got "${text}"`);
    case 'choice':
      if (!spec.choices.includes(text)) throw new Error(`must be ${describeAllowed(spec)}, got "${text}"`);
      return text;
    case 'int-list': {
      const parts = text.split(',').map((v) => v.trim());
      if (parts.some((p) => !/^[+-]?\d+$/.test(p))) throw new Error(`must be whole numbers separated by commas, e.g. 64,32, got "${text}"`);
      return parts.map(Number);
    }
  }
}
