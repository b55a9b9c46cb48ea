import { UsageError } from '../errors.js';
import type { ModelFamily } from './model-family.js';

/** Model families by name, each imported only when used (the MLP pulls in TensorFlow.js). */
const FAMILIES: Readonly<Record<string, () => Promise<ModelFamily<never>>>> = {
  mlp: async () => (await import('./mlp/mlp-family.js')).mlpFamily as ModelFamily<never>,
  linear: async () => (await import('./linear/linear-family.js')).linearFamily as ModelFamily<never>,
};

export async function getModelFamily<P>(name: string): Promise<ModelFamily<P>> {
  const load = FAMILIES[name];
  if (load === undefined) {
    throw new UsageError('MODEL_FAMILY_UNKNOWN', `unknown model family "${name}"`, { hint: `use one of ${Object.keys(FAMILIES).join(', ')}` });
  }
  return (await load()) as unknown as ModelFamily<P>;
}
