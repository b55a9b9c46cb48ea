/**
 * Live drift histograms in `serve`: every answered record's validated inputs, and the
 * model's output for it, are binned against the bundle's reference profile as the answer is
 * made (ProfileBinner: a few array increments, no allocation); the values themselves are
 * never kept. Windows are aligned to multiples of `windowMs` since the Unix epoch, so every
 * worker and replica counts the same windows. When a window ends, each model version's
 * counts become a HistogramWindow: appended to the store (the database) off the request
 * path, one window at a time, and kept in memory among the last `spanWindows` closed ones,
 * which the /metrics drift gauges cover (drift-metrics.ts). At shutdown the partial window
 * is closed and written like any other.
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import type { OutputDescription } from '../bundle/output-meaning.js';
import { resolveThresholds, type DriftThresholds } from '../monitoring/drift-thresholds.js';
import { windowFromCounts, type HistogramStore, type HistogramWindow } from '../monitoring/histogram-store.js';
import { createProfileBinner, type ProfileBinner } from '../monitoring/profile-binner.js';
import type { ReferenceProfile } from '../monitoring/reference-profile.js';
import type { ServedModel } from './served-model.js';

/** Closed windows the drift gauges cover: an hour at the default 5-minute window. */
export const DEFAULT_SPAN_WINDOWS = 12;
/** Windows kept for a database that is down (a day at 5 minutes); older ones are dropped. */
const MAX_QUEUED_WINDOWS = 288;

/**
 * One model version's recent traffic as /metrics needs it, in a form that crosses process
 * boundaries (`serve --workers N` sums these in the primary): the profile and thresholds to
 * compare with, and the counts of the span, summed over its windows.
 */
export interface LiveDriftSnapshot {
  readonly model: string;
  readonly version: string;
  readonly profile: ReferenceProfile;
  /** The output's description, from which the primary rebuilds the binner's layout. */
  readonly output: OutputDescription;
  readonly thresholds: DriftThresholds;
  /** Records binned in the span's closed windows. */
  readonly rows: number;
  /** Their counts, in the binner's layout. */
  readonly counts: readonly number[];
}

export interface DriftMonitorOptions {
  /** The window length, in ms (> 0). */
  readonly windowMs: number;
  /** Where closed windows go; absent: counts live in memory for /metrics only. */
  readonly store?: HistogramStore;
  /** Closed windows the gauges cover (default 12). */
  readonly spanWindows?: number;
  /** Unix time in ms (default Date.now). */
  readonly now?: () => number;
  /** Schedules `fn` in `ms` (default an unref'd setTimeout); tests drive windows by hand. */
  readonly schedule?: (fn: () => void, ms: number) => { cancel(): void };
  /** A model whose histograms cannot be kept (no profile in its bundle): told once per version. */
  readonly onUnavailable?: (model: ServedModel, error: unknown) => void;
  readonly onWritten?: (window: HistogramWindow) => void;
  /** Windows given up on: the database failed at shutdown, or too many waited for it. */
  readonly onDropped?: (windows: number, error: unknown) => void;
  /** A write failed; the window stays queued and is tried again when the next window closes. */
  readonly onWriteFailed?: (error: unknown) => void;
}

export interface DriftMonitor {
  /**
   * Bins answered records (as validateRecords returns them) and the model's raw outputs
   * for them (`meaning.width` per record). Synchronous; nothing is kept but counts.
   */
  record(model: ServedModel, records: readonly DataRecord[], outputs: ArrayLike<number>): void;
  /** The model now served (at start and at each swap): its gauges show even with no traffic. */
  serving(model: ServedModel): void;
  /** The span of every version with traffic in it, and of the served one. */
  snapshot(): LiveDriftSnapshot[];
  /** Closes the window being counted, writes every window not yet written, and stops. */
  close(): Promise<void>;
}

/** One model version's histogram: the window being counted and the span's closed windows. */
interface VersionHistogram {
  readonly key: string;
  readonly model: ServedModel;
  readonly binner: ProfileBinner;
  readonly thresholds: DriftThresholds;
  counts: Float64Array;
  rows: number;
  /** Closed windows, oldest first (null: no records), at most spanWindows. */
  readonly recent: (Float64Array | null)[];
  readonly recentRows: number[];
  /** false once dropped for idleness; a late record brings it back. */
  attached: boolean;
}

function keyOf(model: ServedModel): string {
  return `${model.name}\u0001${model.version}`;
}

function defaultSchedule(fn: () => void, ms: number): { cancel(): void } {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
}

export function createDriftMonitor(options: DriftMonitorOptions): DriftMonitor {
  const windowMs = options.windowMs;
  if (!(windowMs > 0)) throw new RangeError(`a drift window of ${windowMs} ms`);
  const span = options.spanWindows ?? DEFAULT_SPAN_WINDOWS;
  const now = options.now ?? Date.now;
  const schedule = options.schedule ?? defaultSchedule;
  const store = options.store;
  const byModel = new WeakMap<ServedModel, VersionHistogram | null>();
  const byKey = new Map<string, VersionHistogram>();
  const unavailable = new Set<string>();
  let servedKey: string | undefined;
  let windowStart = Math.floor(now() / windowMs) * windowMs;
  let timer: { cancel(): void } | undefined;
  let closed = false;
  const queue: HistogramWindow[] = [];
  let writing: Promise<void> | undefined;

  const track = (model: ServedModel): VersionHistogram | null => {
    const known = byModel.get(model);
    if (known !== undefined) return known;
    const key = keyOf(model);
    let histogram: VersionHistogram | null = byKey.get(key) ?? null;
    if (histogram === null) {
      try {
        const binner = createProfileBinner(model.referenceProfile(), model.meaning);
        histogram = { key, model, binner, thresholds: resolveThresholds(model.manifest.task.monitoring), counts: binner.newCounts(), rows: 0, recent: [], recentRows: [], attached: true };
        byKey.set(key, histogram);
      } catch (error) {
        if (!unavailable.has(key)) {
          unavailable.add(key);
          options.onUnavailable?.(model, error);
        }
      }
    }
    byModel.set(model, histogram);
    return histogram;
  };

  const pushRecent = (histogram: VersionHistogram, counts: Float64Array | null, rows: number): void => {
    histogram.recent.push(counts);
    histogram.recentRows.push(rows);
    if (histogram.recent.length > span) {
      histogram.recent.shift();
      histogram.recentRows.shift();
    }
  };

  const spanRows = (histogram: VersionHistogram): number => histogram.recentRows.reduce((a, b) => a + b, 0);

  /** Writes queued windows one at a time; a failure leaves the rest queued for the next window. */
  const drain = (): Promise<void> => {
    if (store === undefined || writing !== undefined) return writing ?? Promise.resolve();
    writing = (async () => {
      while (queue.length > 0) {
        const next = queue[0]!;
        try {
          await store.append(next);
        } catch (error) {
          if (closed) {
            // Shutting down: no later window will retry.
            const dropped = queue.splice(0);
            options.onDropped?.(dropped.length, error);
          } else {
            options.onWriteFailed?.(error);
          }
          return;
        }
        queue.shift();
        options.onWritten?.(next);
      }
    })().finally(() => {
      writing = undefined;
    });
    return writing;
  };

  const enqueue = (window: HistogramWindow): void => {
    if (store === undefined) return;
    queue.push(window);
    if (queue.length > MAX_QUEUED_WINDOWS) {
      queue.shift();
      options.onDropped?.(1, new Error(`more than ${MAX_QUEUED_WINDOWS} windows wait for the database`));
    }
  };

  const closeWindow = (histogram: VersionHistogram, start: number): void => {
    if (histogram.rows === 0) return;
    const { model } = histogram;
    enqueue(windowFromCounts(histogram.binner, histogram.counts, { model: model.name, version: model.version, start: new Date(start), end: new Date(start + windowMs), rows: histogram.rows }));
  };

  const roll = (): void => {
    timer = undefined;
    if (closed) return;
    const current = Math.floor(now() / windowMs) * windowMs;
    if (current > windowStart) {
      // Windows the timer slept through (a blocked event loop) pass empty.
      const skipped = Math.min(span, Math.round((current - windowStart) / windowMs) - 1);
      for (const histogram of byKey.values()) {
        closeWindow(histogram, windowStart);
        pushRecent(histogram, histogram.rows > 0 ? histogram.counts : null, histogram.rows);
        for (let i = 0; i < skipped; i++) pushRecent(histogram, null, 0);
        if (histogram.rows > 0) {
          // The closed counts live on in `recent`: count the next window afresh.
          histogram.counts = histogram.binner.newCounts();
          histogram.rows = 0;
        }
        if (histogram.key !== servedKey && spanRows(histogram) === 0) {
          // A version no longer served and no longer in the span: its gauges go.
          histogram.attached = false;
          byKey.delete(histogram.key);
        }
      }
      windowStart = current;
      void drain();
    }
    timer = schedule(roll, windowStart + windowMs - now());
  };
  timer = schedule(roll, windowStart + windowMs - now());

  return {
    record(model, records, outputs) {
      let histogram = byModel.get(model);
      if (histogram === undefined) histogram = track(model);
      if (histogram === null) return;
      if (!histogram.attached) {
        histogram.attached = true;
        byKey.set(histogram.key, histogram);
      }
      const { binner, counts } = histogram;
      for (let i = 0; i < records.length; i++) {
        binner.addRecord(records[i]!, counts);
        binner.addOutput(outputs, i, counts);
      }
      histogram.rows += records.length;
    },
    serving(model) {
      servedKey = keyOf(model);
      const histogram = track(model);
      if (histogram !== null && !histogram.attached) {
        histogram.attached = true;
        byKey.set(histogram.key, histogram);
      }
    },
    snapshot() {
      const out: LiveDriftSnapshot[] = [];
      for (const histogram of byKey.values()) {
        const rows = spanRows(histogram);
        if (rows === 0 && histogram.key !== servedKey) continue;
        const sum = histogram.binner.newCounts();
        for (const counts of histogram.recent) if (counts !== null) for (let i = 0; i < sum.length; i++) sum[i]! += counts[i]!;
        const { model } = histogram;
        out.push({ model: model.name, version: model.version, profile: histogram.binner.profile, output: model.manifest.output, thresholds: histogram.thresholds, rows, counts: Array.from(sum) });
      }
      return out;
    },
    async close() {
      if (closed) return writing;
      closed = true;
      timer?.cancel();
      timer = undefined;
      for (const histogram of byKey.values()) closeWindow(histogram, windowStart);
      // A write in progress finishes first; then everything left, once.
      await writing;
      await drain();
    },
  };
}
