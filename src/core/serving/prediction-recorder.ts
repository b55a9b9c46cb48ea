import { hashPredictionInput, type PredictionRecord } from '../db/predictions-repository.js';

/** One answered record, as the handler hands it over (hashing waits for the flush). */
export interface AnsweredPrediction {
  readonly input: Readonly<Record<string, unknown>>;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly label: string;
  readonly probability: number | null;
  readonly latencyMs: number;
  readonly createdAt: string;
}

export interface PredictionRecorderOptions {
  /** Writes one batch (recordPredictions on the open database). */
  readonly write: (rows: readonly PredictionRecord[]) => Promise<number>;
  /** Flush as soon as this many rows wait (default 500). */
  readonly flushRows?: number;
  /** Flush rows older than this (default 200 ms). */
  readonly flushIntervalMs?: number;
  /** Rows kept while a write is slow; beyond this new rows are dropped (default 20,000). */
  readonly maxBufferedRows?: number;
  readonly onWritten?: (rows: number) => void;
  /** A failed or refused batch: the rows are dropped, never retried, never failing a request. */
  readonly onDropped?: (rows: number, error: unknown) => void;
}

/**
 * Writes served predictions to the database in batches, off the response path: `add` only
 * queues; a flush runs every `flushIntervalMs` or at `flushRows` rows, one at a time. A
 * failed batch is reported and dropped, and the queue is bounded, so a slow or broken
 * database costs memory up to a limit and never a failed request.
 */
export interface PredictionRecorder {
  add(prediction: AnsweredPrediction): void;
  /** Writes what is queued and waits for writes in progress (at shutdown). */
  close(): Promise<void>;
}

export function createPredictionRecorder(options: PredictionRecorderOptions): PredictionRecorder {
  const flushRows = options.flushRows ?? 500;
  const intervalMs = options.flushIntervalMs ?? 200;
  const maxRows = options.maxBufferedRows ?? 20_000;
  let queue: AnsweredPrediction[] = [];
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const writeBatch = async (batch: AnsweredPrediction[]): Promise<void> => {
    try {
      const rows: PredictionRecord[] = batch.map((p) => ({
        modelName: p.modelName,
        modelVersion: p.modelVersion,
        inputHash: hashPredictionInput(p.input),
        label: p.label,
        probability: p.probability,
        latencyMs: p.latencyMs,
        createdAt: p.createdAt,
      }));
      // Not inside `onWritten?.(…)`: an optional call skips evaluating its arguments.
      const written = await options.write(rows);
      options.onWritten?.(written);
    } catch (error) {
      options.onDropped?.(batch.length, error);
    }
  };

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (writing !== undefined || queue.length === 0) return;
    const batch = queue;
    queue = [];
    writing = writeBatch(batch).finally(() => {
      writing = undefined;
      // Rows that arrived during the write go out now or at the next tick of the timer.
      if (queue.length >= flushRows || (closed && queue.length > 0)) flush();
      else if (queue.length > 0) arm();
    });
  };

  const arm = (): void => {
    if (timer !== undefined || closed) return;
    timer = setTimeout(flush, intervalMs);
    timer.unref();
  };

  return {
    add(prediction) {
      if (queue.length >= maxRows) {
        options.onDropped?.(1, new Error(`more than ${maxRows} predictions wait for the database`));
        return;
      }
      queue.push(prediction);
      if (queue.length >= flushRows) flush();
      else arm();
    },
    async close() {
      closed = true;
      flush();
      while (writing !== undefined) await writing;
    },
  };
}
