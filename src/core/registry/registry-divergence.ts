import type { RegisteredModel } from './model-registry.js';

/**
 * How two copies of one model's `model.json` differ (this workspace's and a remote's), in
 * words a person can act on: versions that point at different runs, versions only one side
 * has, aliases that point at different versions. Used when sync refuses to overwrite one
 * side's registry with the other's.
 */
export interface RegistryDivergence {
  readonly problems: readonly string[];
  /** Versions that exist only here, or point at another run here: lost if the remote's copy wins. */
  readonly localOnly: readonly { readonly version: number; readonly runId: string }[];
}

/** `local` and `remote` are parsed model.json files, or undefined when a side has none (or it does not parse). */
export function describeRegistryDivergence(name: string, local: unknown, remote: unknown, here = 'here', there = 'on the remote'): RegistryDivergence {
  const mine = asModel(local);
  const theirs = asModel(remote);
  if (mine === undefined || theirs === undefined) {
    const which = mine === undefined ? here : there;
    return { problems: [`${name}: model.json ${which} is missing or unreadable`], localOnly: mine?.versions.map(pick) ?? [] };
  }
  const problems: string[] = [];
  const localOnly: { version: number; runId: string }[] = [];
  const mineByNumber = new Map(mine.versions.map((v) => [v.version, v]));
  const theirsByNumber = new Map(theirs.versions.map((v) => [v.version, v]));
  const numbers = [...new Set([...mineByNumber.keys(), ...theirsByNumber.keys()])].sort((a, b) => a - b);
  for (const number of numbers) {
    const a = mineByNumber.get(number);
    const b = theirsByNumber.get(number);
    if (a !== undefined && b !== undefined && a.runId !== b.runId) {
      problems.push(`${name} version ${number} is run ${a.runId} ${here} but run ${b.runId} ${there}`);
      localOnly.push(pick(a));
    } else if (a !== undefined && b === undefined) {
      problems.push(`${name} version ${number} (run ${a.runId}) exists ${here} only`);
      localOnly.push(pick(a));
    } else if (a === undefined && b !== undefined) {
      problems.push(`${name} version ${number} (run ${b.runId}) exists ${there} only`);
    }
  }
  const aliases = [...new Set([...Object.keys(mine.aliases), ...Object.keys(theirs.aliases)])].sort();
  for (const alias of aliases) {
    const a = mine.aliases[alias];
    const b = theirs.aliases[alias];
    if (a === b) continue;
    problems.push(`${name}@${alias} is ${a === undefined ? 'unset' : `version ${a}`} ${here} but ${b === undefined ? 'unset' : `version ${b}`} ${there}`);
  }
  if (problems.length === 0) problems.push(`${name}: model.json differs ${here} and ${there} (description or audit log)`);
  return { problems, localOnly };
}

function pick(version: { version: number; runId: string }): { version: number; runId: string } {
  return { version: version.version, runId: version.runId };
}

function asModel(value: unknown): Pick<RegisteredModel, 'versions' | 'aliases'> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const model = value as Partial<RegisteredModel>;
  if (!Array.isArray(model.versions) || typeof model.aliases !== 'object' || model.aliases === null) return undefined;
  return { versions: model.versions, aliases: model.aliases };
}
