/**
 * Checks a JSON value against a JSON Schema (draft 2020-12) with ajv, and words ajv's errors
 * for a person: every problem with the JSON pointer of the value and a message that says what
 * is allowed — an unknown key names the allowed keys and the one probably meant, a value off
 * a list names the closest allowed value, alternatives (`anyOf`) report against the form the
 * value was meant to have, and a `oneOf` told apart by a `kind` (ajv's `discriminator`)
 * reports against the branch the value names.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { didYouMean } from '../text/near-names.js';

/** One problem: where (RFC 6901 pointer, '' for the document) and what. */
export interface SchemaProblem {
  readonly pointer: string;
  readonly message: string;
}

export type SchemaValidator = (value: unknown) => SchemaProblem[];

type Schema = Readonly<Record<string, unknown>>;

/** A pointer segment, escaped as RFC 6901 says. */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll('~', '~0').replaceAll('/', '~1');
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

const ARTICLE: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function got(value: unknown): string {
  const type = jsonType(value);
  return type === 'object' || type === 'array' ? `got ${ARTICLE[type]}` : `got ${shown(value)}`;
}

function typesOf(type: unknown): string[] {
  return (Array.isArray(type) ? type : String(type).split(',')).map(String);
}

const COMPARISON: Readonly<Record<string, string>> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' };

/** A branch of an alternative that only requires keys (`{"required": ["min"]}`). */
function isRequiredOnly(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && Object.keys(schema).length === 1 && Array.isArray((schema as Schema).required);
}

/** One ajv error as a person reads it; undefined for errors that only summarise others. */
function describe(error: ErrorObject): SchemaProblem | undefined {
  const pointer = error.instancePath;
  const params = error.params as Record<string, unknown>;
  const data = error.data;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = Object.keys(((error.parentSchema as Schema | undefined)?.properties as Schema | undefined) ?? {});
      return { pointer: `${pointer}/${pointerSegment(key)}`, message: `unknown key "${key}"${didYouMean(key, known)}; allowed here: ${known.join(', ')}` };
    }
    case 'required':
      return { pointer, message: `"${String(params.missingProperty)}" is required` };
    case 'type':
      return { pointer, message: `expected ${typesOf(params.type).map((t) => ARTICLE[t] ?? t).join(' or ')}, ${got(data)}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]) ?? [];
      const hint = typeof data === 'string' ? didYouMean(data, allowed.filter((v): v is string => typeof v === 'string')) : '';
      return { pointer, message: `${shown(data)} is not allowed${hint}; use one of ${allowed.map((v) => shown(v)).join(', ')}` };
    }
    case 'const':
      return { pointer, message: `expected ${shown(params.allowedValue)}, ${got(data)}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { pointer, message: `must be ${COMPARISON[String(params.comparison)] ?? params.comparison} ${String(params.limit)}, got ${shown(data)}` };
    case 'minLength':
      return { pointer, message: params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters` };
    case 'pattern':
      return { pointer, message: `${shown(data)} does not match ${String(params.pattern)}` };
    case 'minItems':
      return { pointer, message: params.limit === 1 ? 'must not be empty' : `needs at least ${String(params.limit)} items` };
    case 'uniqueItems': {
      const later = Math.max(Number(params.i), Number(params.j));
      return { pointer: `${pointer}/${later}`, message: `${shown((data as unknown[])[later])} is listed twice` };
    }
    case 'discriminator': {
      const tag = String(params.tag);
      const branches = ((error.parentSchema as Schema | undefined)?.oneOf as Schema[] | undefined) ?? [];
      const kinds = branches.map((b) => ((b.properties as Schema | undefined)?.[tag] as Schema | undefined)?.const).filter((k): k is string => typeof k === 'string');
      const value = params.tagValue;
      if (value === undefined) return { pointer, message: `"${tag}" is required: one of ${kinds.join(', ')}` };
      return { pointer: `${pointer}/${pointerSegment(tag)}`, message: `unknown ${tag} ${shown(value)}${typeof value === 'string' ? didYouMean(value, kinds) : ''}; use one of ${kinds.join(', ')}` };
    }
    case 'anyOf':
    case 'oneOf':
      return undefined;
    default:
      return { pointer, message: error.message ?? `fails ${error.keyword}` };
  }
}

/**
 * ajv reports every branch of a failed alternative. Keep what the user meant: when the value
 * failed inside a branch whose type it has, the other branches' type mismatches go; when it
 * has none of the branches' types, one message lists them; branches that only require keys
 * read as one "needs … or …".
 */
function wordAlternatives(errors: readonly ErrorObject[]): SchemaProblem[] {
  // Each problem is placed after the last error it explains, so a value's own problems come
  // before what its alternatives needed, as a reader goes through the file.
  const placed: { problem: SchemaProblem; order: number }[] = [];
  const failedAt = new Set(errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  const within = (pointer: string, at: string): boolean => pointer === at || pointer.startsWith(`${at}/`);
  const lastWithin = (at: string): number => errors.reduce((last, e, i) => (within(e.instancePath, at) ? i : last), -1);
  const handled = new Set<ErrorObject>();
  errors.forEach((error, index) => {
    if (handled.has(error)) return;
    const at = error.instancePath;
    if (!failedAt.has(at) || (error.keyword !== 'type' && !(error.keyword === 'required' && isRequiredOnly(error.parentSchema)))) {
      handled.add(error);
      const problem = describe(error);
      if (problem !== undefined) placed.push({ problem, order: index });
      return;
    }
    const group = errors.filter((e) => e.instancePath === at && !handled.has(e));
    group.forEach((e) => handled.add(e));
    const order = lastWithin(at) + 0.5;
    const types = group.filter((e) => e.keyword === 'type');
    const needs = group.filter((e) => e.keyword === 'required' && isRequiredOnly(e.parentSchema));
    // The value failed inside a branch whose type it has: the other branches' types are noise.
    const elsewhere = errors.some((e) => within(e.instancePath, at) && !types.includes(e) && !needs.includes(e) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf');
    if (needs.length > 0) placed.push({ order, problem: { pointer: at, message: `needs ${needs.map((e) => `"${String((e.params as Record<string, unknown>).missingProperty)}"`).join(' or ')}` } });
    if (types.length > 0 && !elsewhere && needs.length === 0) {
      const names = [...new Set(types.flatMap((e) => typesOf((e.params as Record<string, unknown>).type)))];
      placed.push({ order, problem: { pointer: at, message: `expected ${names.map((t) => ARTICLE[t] ?? t).join(' or ')}, ${got(types[0]!.data)}` } });
    }
    for (const e of group) {
      if (e.keyword === 'type' || needs.includes(e)) continue;
      const problem = describe(e);
      if (problem !== undefined) placed.push({ order: errors.indexOf(e), problem });
    }
  });
  // An alternative nothing else explains.
  errors.forEach((error, index) => {
    if ((error.keyword === 'anyOf' || error.keyword === 'oneOf') && !placed.some((p) => within(p.problem.pointer, error.instancePath))) {
      placed.push({ order: index, problem: { pointer: error.instancePath, message: `does not match any allowed form (${got(error.data)})` } });
    }
  });
  return placed.sort((a, b) => a.order - b.order).map((p) => p.problem);
}

export function createSchemaValidator(root: Schema): SchemaValidator {
  const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strict: false });
  const validate = ajv.compile(root);
  return (value) => (validate(value) ? [] : wordAlternatives(validate.errors ?? []));
}
