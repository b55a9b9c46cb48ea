/**
 * Checks a JSON value against a JSON Schema (draft 2020-12), for the keywords mlctl's own
 * schemas use: type, properties, additionalProperties, required, enum, const, the numeric
 * and length bounds, pattern, items, minItems, uniqueItems, local $ref, anyOf and oneOf.
 * Every problem is returned, each with the JSON pointer of the value and a message a person
 * can act on: an unknown key says which keys are allowed and which one was probably meant;
 * a `oneOf` of objects told apart by a `kind` constant reports against the branch the value
 * names. Other keywords are ignored (the schema stays valid for editors and other validators).
 *
 * This is the one seam where a general validator (ajv) can replace it: same input, same
 * SchemaProblem list.
 */
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

function matchesType(value: unknown, type: string): boolean {
  const actual = jsonType(value);
  return actual === type || (type === 'number' && actual === 'integer');
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

export function createSchemaValidator(root: Schema): SchemaValidator {
  const resolve = (schema: Schema): Schema => {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    if (!ref.startsWith('#/')) throw new Error(`only local $ref is supported, got ${ref}`);
    let target: unknown = root;
    for (const part of ref.slice(2).split('/')) target = (target as Schema)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (typeof target !== 'object' || target === null) throw new Error(`$ref ${ref} points at nothing`);
    return resolve(target as Schema);
  };

  const check = (value: unknown, raw: Schema, pointer: string, out: SchemaProblem[]): void => {
    const schema = resolve(raw);
    const problem = (message: string, at = pointer): void => {
      out.push({ pointer: at, message });
    };
    if (schema.type !== undefined) {
      const types = (Array.isArray(schema.type) ? schema.type : [schema.type]) as string[];
      if (!types.some((t) => matchesType(value, t))) {
        problem(`expected ${types.map((t) => ARTICLE[t] ?? t).join(' or ')}, ${got(value)}`);
        return;
      }
    }
    if (schema.const !== undefined && value !== schema.const) problem(`expected ${shown(schema.const)}, ${got(value)}`);
    if (Array.isArray(schema.enum) && !schema.enum.includes(value)) {
      const hint = typeof value === 'string' ? didYouMean(value, schema.enum.filter((v): v is string => typeof v === 'string')) : '';
      problem(`${shown(value)} is not allowed${hint}; use one of ${schema.enum.map((v) => shown(v)).join(', ')}`);
    }
    if (typeof value === 'number') {
      if (typeof schema.minimum === 'number' && value < schema.minimum) problem(`must be ≥ ${schema.minimum}, got ${value}`);
      if (typeof schema.maximum === 'number' && value > schema.maximum) problem(`must be ≤ ${schema.maximum}, got ${value}`);
      if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) problem(`must be > ${schema.exclusiveMinimum}, got ${value}`);
      if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) problem(`must be < ${schema.exclusiveMaximum}, got ${value}`);
    }
    if (typeof value === 'string') {
      if (typeof schema.minLength === 'number' && value.length < schema.minLength) problem(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) problem(`${shown(value)} does not match ${schema.pattern}`);
    }
    if (Array.isArray(value)) {
      if (typeof schema.minItems === 'number' && value.length < schema.minItems) problem(schema.minItems === 1 ? 'must not be empty' : `needs at least ${schema.minItems} items`);
      if (schema.uniqueItems === true) {
        const seen = new Set<string>();
        value.forEach((item, i) => {
          const key = JSON.stringify(item);
          if (seen.has(key)) problem(`${shown(item)} is listed twice`, `${pointer}/${i}`);
          seen.add(key);
        });
      }
      if (typeof schema.items === 'object' && schema.items !== null) value.forEach((item, i) => check(item, schema.items as Schema, `${pointer}/${i}`, out));
    }
    if (jsonType(value) === 'object') {
      const object = value as Record<string, unknown>;
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      if (Array.isArray(schema.required)) {
        for (const key of schema.required as string[]) if (!(key in object)) problem(`"${key}" is required`);
      }
      for (const [key, item] of Object.entries(object)) {
        const at = `${pointer}/${pointerSegment(key)}`;
        const property = properties[key];
        if (property !== undefined) check(item, property, at, out);
        else if (schema.additionalProperties === false) {
          const known = Object.keys(properties);
          problem(`unknown key "${key}"${didYouMean(key, known)}; allowed here: ${known.join(', ')}`, at);
        } else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
          check(item, schema.additionalProperties as Schema, at, out);
        }
      }
    }
    if (Array.isArray(schema.anyOf)) checkAlternatives(value, schema.anyOf as Schema[], pointer, out, 'any');
    if (Array.isArray(schema.oneOf)) checkAlternatives(value, schema.oneOf as Schema[], pointer, out, 'one');
  };

  const checkAlternatives = (value: unknown, branches: readonly Schema[], pointer: string, out: SchemaProblem[], mode: 'any' | 'one'): void => {
    const results = branches.map((branch) => {
      const found: SchemaProblem[] = [];
      check(value, branch, pointer, found);
      return found;
    });
    const passing = results.filter((r) => r.length === 0).length;
    if (passing === 1 || (mode === 'any' && passing > 1)) return;
    if (passing > 1) {
      out.push({ pointer, message: 'matches more than one form; the schema is ambiguous here' });
      return;
    }
    // Objects told apart by a constant `kind`: report against the branch the value names.
    const resolved = branches.map(resolve);
    const kinds = resolved.map((b) => ((b.properties as Record<string, Schema> | undefined)?.kind?.const as string | undefined));
    if (jsonType(value) === 'object' && kinds.every((k) => typeof k === 'string')) {
      const kind = (value as Record<string, unknown>).kind;
      const index = kinds.indexOf(kind as string);
      if (index >= 0) out.push(...results[index]!);
      else if (kind === undefined) out.push({ pointer, message: `"kind" is required: one of ${kinds.join(', ')}` });
      else out.push({ pointer: `${pointer}/kind`, message: `unknown kind ${shown(kind)}${typeof kind === 'string' ? didYouMean(kind, kinds as string[]) : ''}; use one of ${kinds.join(', ')}` });
      return;
    }
    // Branches of different types: report against the one whose type the value has.
    const typed = results.filter((_, i) => {
      const type = resolved[i]!.type;
      if (type === undefined) return true;
      return ((Array.isArray(type) ? type : [type]) as string[]).some((t) => matchesType(value, t));
    });
    if (typed.length === 1) {
      out.push(...typed[0]!);
      return;
    }
    const requiredOnly = resolved.every((b) => Array.isArray(b.required) && Object.keys(b).length === 1);
    if (requiredOnly) {
      out.push({ pointer, message: `needs ${resolved.map((b) => (b.required as string[]).map((k) => `"${k}"`).join(' and ')).join(' or ')}` });
      return;
    }
    const types = resolved.map((b) => b.type).filter((t): t is string => typeof t === 'string');
    out.push({ pointer, message: types.length === resolved.length ? `expected ${types.map((t) => ARTICLE[t] ?? t).join(' or ')}, ${got(value)}` : `does not match any allowed form (${got(value)})` });
  };

  return (value) => {
    const out: SchemaProblem[] = [];
    check(value, root, '', out);
    return out;
  };
}
