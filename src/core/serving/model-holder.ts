import type { ResolvedModel } from '../tracking/model-reference.js';
import type { ServedModel } from './served-model.js';

/** Why a reload happened: a signal (SIGHUP), or the served alias moving. */
export type ReloadReason = 'signal' | 'alias';
export type ReloadOutcome = 'swapped' | 'unchanged' | 'failed';

export interface ModelHolderOptions {
  readonly initial: ServedModel;
  /** Resolves the served reference again (the registry alias may have moved). */
  readonly resolve: () => Promise<ResolvedModel>;
  /** Loads and verifies a resolved bundle completely. */
  readonly load: (resolved: ResolvedModel) => Promise<ServedModel>;
  /** Re-resolve every this many ms and reload when the bundle changed; 0 or undefined: never. */
  readonly pollIntervalMs?: number;
  readonly onSwap?: (next: ServedModel, previous: ServedModel, reason: ReloadReason) => void;
  readonly onError?: (error: unknown, reason: ReloadReason) => void;
  /** An alias check found the same bundle (a check that works again after failing). */
  readonly onUnchanged?: () => void;
}

/**
 * Holds the served model and swaps it atomically: a new model is resolved and loaded
 * completely first, then one assignment makes it current. A request acquires the model it
 * starts with and releases it when answered, so in-flight requests finish on the old model,
 * which is disposed once the last of them releases it.
 */
export interface ModelHolder {
  readonly current: ServedModel;
  acquire(): ServedModel;
  release(model: ServedModel): void;
  /** Reloads now; `signal` reloads even an unchanged bundle, `alias` only a changed one. Never throws. */
  reload(reason: ReloadReason): Promise<ReloadOutcome>;
  /** Stops polling; the current model stays usable until disposeAll. */
  stop(): void;
  /** Disposes every model still held (at shutdown, after requests drained). */
  disposeAll(): void;
}

function sameBundle(resolved: ResolvedModel, model: ServedModel): boolean {
  return resolved.bundleDir === model.bundleDir && resolved.source.version === model.source.version && resolved.source.runId === model.source.runId;
}

export function createModelHolder(options: ModelHolderOptions): ModelHolder {
  let current = options.initial;
  /** Requests holding `current`; a plain count, since nearly every request holds it. */
  let currentUsers = 0;
  /** Requests still holding a model that a reload replaced. */
  const users = new Map<ServedModel, number>();
  const retired = new Set<ServedModel>();
  let pending: Promise<ReloadOutcome> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const retire = (model: ServedModel, held: number): void => {
    if (held === 0) model.scorer.dispose();
    else {
      users.set(model, held);
      retired.add(model);
    }
  };

  const doReload = async (reason: ReloadReason): Promise<ReloadOutcome> => {
    try {
      const resolved = await options.resolve();
      if (reason === 'alias' && sameBundle(resolved, current)) {
        options.onUnchanged?.();
        return 'unchanged';
      }
      const next = await options.load(resolved);
      if (stopped) {
        next.scorer.dispose();
        return 'unchanged';
      }
      const previous = current;
      const held = currentUsers;
      current = next;
      currentUsers = 0;
      options.onSwap?.(next, previous, reason);
      retire(previous, held);
      return 'swapped';
    } catch (error) {
      options.onError?.(error, reason);
      return 'failed';
    }
  };

  const reload = (reason: ReloadReason): Promise<ReloadOutcome> => {
    // One reload at a time; a SIGHUP during an alias check waits for it and then reloads.
    const run = (pending ?? Promise.resolve<ReloadOutcome>('unchanged')).then(() => doReload(reason));
    pending = run;
    void run.finally(() => {
      if (pending === run) pending = undefined;
    });
    return run;
  };

  const schedule = (): void => {
    const interval = options.pollIntervalMs ?? 0;
    if (interval <= 0 || stopped) return;
    timer = setTimeout(() => {
      void reload('alias').finally(schedule);
    }, interval);
    timer.unref();
  };
  schedule();

  return {
    get current() {
      return current;
    },
    acquire() {
      currentUsers++;
      return current;
    },
    release(model) {
      if (model === current) {
        currentUsers--;
        return;
      }
      const left = (users.get(model) ?? 1) - 1;
      if (left > 0) {
        users.set(model, left);
        return;
      }
      users.delete(model);
      if (retired.delete(model)) model.scorer.dispose();
    },
    reload,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
    disposeAll() {
      for (const model of retired) model.scorer.dispose();
      retired.clear();
      current.scorer.dispose();
    },
  };
}
