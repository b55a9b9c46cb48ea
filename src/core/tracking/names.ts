import { UsageError } from '../errors.js';

/**
 * Validation of every name that becomes part of a path inside the store. Nothing a user
 * types may climb out of the runs directory: no `/`, `\`, `..`, leading dots or absolute
 * paths ever reach `path.join`.
 */

/** Folders under the store root that are not experiments. */
export const RESERVED_ROOT_ENTRIES: ReadonlySet<string> = new Set(['models']);

const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;
/** Run ids are lowercase hex (see run-id.ts); shorter prefixes are accepted for lookups. */
const RUN_ID_OR_PREFIX = /^[0-9a-f]{6,40}$/;

function describeBadName(value: string): string {
  if (value === '') return 'it is empty';
  if (value.includes('/') || value.includes('\\')) return 'it contains a path separator';
  if (value.includes('..')) return 'it contains ".."';
  if (value.startsWith('.')) return 'it starts with "."';
  return 'it has characters other than letters, digits, "_", "." and "-"';
}

export function validateExperimentName(name: string): string {
  if (!EXPERIMENT_NAME.test(name) || name.includes('..') || RESERVED_ROOT_ENTRIES.has(name)) {
    const why = RESERVED_ROOT_ENTRIES.has(name) ? 'it is reserved for the model registry' : describeBadName(name);
    throw new UsageError('INVALID_EXPERIMENT_NAME', `experiment name "${name}" is not allowed: ${why}`, {
      hint: 'use letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "income")',
    });
  }
  return name;
}

export function isExperimentName(name: string): boolean {
  return EXPERIMENT_NAME.test(name) && !name.includes('..') && !RESERVED_ROOT_ENTRIES.has(name);
}

/** Param, metric and tag keys; metric keys name files (`metrics/<key>.jsonl`). */
export function validateKey(kind: 'param' | 'metric' | 'tag', key: string): string {
  if (!KEY.test(key) || key.includes('..')) {
    throw new UsageError(`INVALID_${kind.toUpperCase()}_KEY`, `${kind} key "${key}" is not allowed: ${describeBadName(key)}`, {
      hint: 'use letters, digits, "_", "." and "-" (at most 200 characters)',
    });
  }
  return key;
}

/** Run names: what people type, so no path separators, leading dots or control characters. */
const RUN_NAME = /^(?![.\s])[^/\\\p{Cc}]{1,100}$/u;

/** Checks the name given to a new run (`mlctl train --name`). */
export function validateRunName(name: string): string {
  if (!RUN_NAME.test(name) || name.trim() !== name) {
    throw new UsageError('INVALID_RUN_NAME', `run name "${name}" is not allowed: ${describeRunNameProblem(name)}`, {
      hint: 'up to 100 characters without "/", "\\" or control characters, not starting with "." or a space (e.g. "baseline-v2")',
    });
  }
  return name;
}

function describeRunNameProblem(name: string): string {
  if (name === '') return 'it is empty';
  if (name.includes('/') || name.includes('\\')) return 'it contains a path separator';
  if (name.startsWith('.')) return 'it starts with "."';
  if (name.trim() !== name) return 'it starts or ends with a space';
  if (name.length > 100) return 'it is longer than 100 characters';
  return 'it contains a control character';
}

/**
 * What a user typed to name a run, before looking in the store: an id or a prefix of one
 * (at least 6 lowercase hex characters), or a run name. Anything else is a usage error that
 * says what is wrong with it.
 */
export type RunReference = { readonly kind: 'id'; readonly id: string } | { readonly kind: 'name'; readonly name: string };

export function parseRunReference(ref: string): RunReference {
  if (RUN_ID_OR_PREFIX.test(ref)) return { kind: 'id', id: ref };
  if (RUN_NAME.test(ref) && ref.trim() === ref) return { kind: 'name', name: ref };
  throw new UsageError('INVALID_RUN_ID', `"${ref}" is neither a run id nor a run name: ${describeRunNameProblem(ref)}`, {
    hint: 'give a run id (20 lowercase hex characters, or 6 or more of its first ones) or a run name such as keen-shrew-40; see `mlctl runs list`',
  });
}

export function isRunIdOrPrefix(id: string): boolean {
  return RUN_ID_OR_PREFIX.test(id);
}

/** Why a reference that matched nothing may be mistyped, for the not-found hint. */
export function runReferenceAdvice(ref: string): string {
  if (RUN_ID_OR_PREFIX.test(ref.toLowerCase()) && ref !== ref.toLowerCase()) return 'run ids are lowercase';
  if (/^[0-9a-f]{1,5}$/.test(ref)) return 'give at least 6 characters of a run id';
  return '';
}
