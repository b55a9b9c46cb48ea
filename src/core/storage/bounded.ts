import { setMaxListeners } from 'node:events';

/**
 * Runs `task` over `items` with at most `limit` in flight. The first failure stops new
 * tasks from starting, aborts the `signal` handed to the running ones, waits for them to
 * settle (so multipart uploads get aborted and temporary files removed), then rethrows it.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const outerAborted = (): boolean => signal?.aborted === true;
  if (outerAborted()) throw signal?.reason ?? new Error('aborted');
  const controller = new AbortController();
  // Each task's requests listen on this signal (the SDK adds one listener per request in
  // flight): more than Node's default of 10 is expected here, not a leak.
  setMaxListeners(Math.max(10, limit * 4), controller.signal);
  const onAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !controller.signal.aborted && next < items.length) {
      const item = items[next] as T;
      next += 1;
      try {
        await task(item, controller.signal);
      } catch (error) {
        if (failure === undefined) failure = { error };
        controller.abort(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (outerAborted()) throw signal?.reason ?? new Error('aborted');
  if (failure !== undefined) throw failure.error;
}
