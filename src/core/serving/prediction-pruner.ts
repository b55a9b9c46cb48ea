import type { PruneResult } from '../db/predictions-repository.js';

export interface PredictionPrunerOptions<R = PruneResult> {
  /** One pass of the retention (ServingDatabase.prunePredictions with the daemon's setting, or pruneHistograms). */
  readonly prune: () => Promise<R>;
  /** Between passes (default 5 minutes); the first pass runs `firstDelayMs` after start (default 2 s). */
  readonly intervalMs?: number;
  readonly firstDelayMs?: number;
  readonly onPruned?: (result: R) => void;
  readonly onError?: (error: unknown) => void;
}

/** A retention (stored predictions, drift histograms) enforced in the background, off the request path: one pass at a time. */
export interface PredictionPruner {
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startPredictionPruner<R = PruneResult>(options: PredictionPrunerOptions<R>): PredictionPruner {
  const interval = options.intervalMs ?? 5 * 60_000;
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const pass = (): void => {
    timer = undefined;
    if (stopped) return;
    running = options
      .prune()
      .then(
        (result) => options.onPruned?.(result),
        (error: unknown) => options.onError?.(error),
      )
      .finally(() => {
        running = undefined;
        schedule(interval);
      });
  };
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(pass, ms);
    timer.unref();
  };
  schedule(options.firstDelayMs ?? 2_000);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
