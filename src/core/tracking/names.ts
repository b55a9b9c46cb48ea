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

/** A run id or an unambiguous prefix of one (at least 6 hex characters). */
export function validateRunIdOrPrefix(id: string): string {
  if (!RUN_ID_OR_PREFIX.test(id)) {
    throw new UsageError('INVALID_RUN_ID', `"${id}" is not a run id: ${RUN_ID_OR_PREFIX.test(id.toLowerCase()) ? 'run ids are lowercase' : describeRunIdProblem(id)}`, {
      hint: 'run ids are lowercase hex, e.g. 0195f3a2c4e1b7d9a0c3; see `mlctl runs list`',
    });
  }
  return id;
}

export function isRunIdOrPrefix(id: string): boolean {
  return RUN_ID_OR_PREFIX.test(id);
}

function describeRunIdProblem(id: string): string {
  if (id.length < 6 && /^[0-9a-f]*$/.test(id)) return 'give at least 6 characters';
  return describeBadName(id);
}
