import { GateError } from '../errors.js';
import type { SetAliasOptions } from './model-registry.js';

/** Refuses a move whose caller saw the alias somewhere else (compare-and-set): GateError exit 4. */
export function checkExpectation(name: string, alias: string, previous: number | null, options: SetAliasOptions): void {
  if (options.expect === undefined || options.expect === previous) return;
  const now = previous === null ? 'unset' : `version ${previous}`;
  const expected = options.expect === null ? 'unset' : `version ${options.expect}`;
  throw new GateError('MODEL_ALIAS_MOVED', `${name}@${alias} is ${now}, not ${expected} as expected; nothing was changed`, {
    hint: `someone moved it since you looked: see \`mlctl models show ${name}\`, then set it again with --expect ${previous ?? 'none'}`,
    details: { model: name, alias, current: previous, expected: options.expect },
  });
}

