import { NotFoundError } from '../errors.js';
import { BUILTIN_DATASETS } from './builtin-datasets.js';
import type { DatasetSpec } from './dataset-spec.js';

/** The built-in datasets, in the order `mlctl data list` shows them. */
export function listDatasetSpecs(): readonly DatasetSpec[] {
  return BUILTIN_DATASETS;
}

/** A built-in dataset by name; NotFoundError 'DATASET_NOT_FOUND' lists the known names. */
export function getDatasetSpec(name: string): DatasetSpec {
  const spec = BUILTIN_DATASETS.find((candidate) => candidate.name === name);
  if (spec === undefined) {
    const known = BUILTIN_DATASETS.map((candidate) => candidate.name).join(', ');
    throw new NotFoundError('DATASET_NOT_FOUND', `no dataset named "${name}"; known datasets: ${known}`, {
      hint: 'run `mlctl data list` to see them',
    });
  }
  return spec;
}

/** True when `name` is a built-in dataset (and not, say, a path to a CSV). */
export function isBuiltinDataset(name: string): boolean {
  return BUILTIN_DATASETS.some((candidate) => candidate.name === name);
}
