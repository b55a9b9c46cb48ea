/**
 * Where binned traffic is kept between a server counting it and `mlctl monitor drift`
 * reading it: one window of counts per model version, one count per input, bin and window.
 * Only counts are stored, never a value from a request. `serve` fills a histogram with
 * `ProfileBinner.addRecord` / `addOutput`, turns it into a window with `windowFromCounts`
 * every `--monitor-window`, and appends it; `monitor drift --since` sums the windows it reads
 * back with `countsFromWindows` and compares the sum with `compareWithProfile`, as `--data`
 * does with a CSV.
 */
import { UsageError } from '../errors.js';
import type { ProfileBinner } from './profile-binner.js';

/** The key under which a window holds the model's output distribution. */
export const OUTPUT_KEY = '(output)';

/** One window of binned records for one served model version. */
export interface HistogramWindow {
  readonly model: string;
  readonly version: string;
  /** The window is [start, end). */
  readonly start: Date;
  readonly end: Date;
  /** Records binned in the window. */
  readonly rows: number;
  /** Per input name (and OUTPUT_KEY): counts per bin, in the profile's bin order ("other" and "missing" last). */
  readonly counts: Readonly<Record<string, readonly number[]>>;
}

export interface HistogramQuery {
  readonly model: string;
  /** Every version when absent. */
  readonly version?: string;
  /** Windows starting in [from, to). */
  readonly from: Date;
  readonly to: Date;
}

/** The seam for storing windows (a database table in serve; memory in tests). */
export interface HistogramStore {
  append(window: HistogramWindow): Promise<void>;
  /** The matching windows, oldest first. */
  windows(query: HistogramQuery): Promise<HistogramWindow[]>;
}

/** A histogram (binner layout) as a window. */
export function windowFromCounts(
  binner: ProfileBinner,
  counts: Float64Array,
  window: Omit<HistogramWindow, 'counts'>,
): HistogramWindow {
  const byName: Record<string, number[]> = {};
  for (const slot of binner.features) byName[slot.name] = Array.from(counts.subarray(slot.offset, slot.offset + slot.size));
  byName[OUTPUT_KEY] = Array.from(counts.subarray(binner.output.offset, binner.output.offset + binner.output.size));
  return { ...window, counts: byName };
}

/**
 * The sum of windows as one histogram in the binner's layout. A window binned against
 * another profile (another bin count for an input) is refused: its bins mean other values.
 */
export function countsFromWindows(binner: ProfileBinner, windows: readonly HistogramWindow[]): { counts: Float64Array; rows: number } {
  const counts = binner.newCounts();
  let rows = 0;
  const slots = [...binner.features.map((slot) => ({ key: slot.name, slot })), { key: OUTPUT_KEY, slot: binner.output }];
  for (const window of windows) {
    for (const { key, slot } of slots) {
      const bins = window.counts[key];
      if (bins === undefined || bins.length !== slot.size) {
        throw new UsageError('HISTOGRAM_PROFILE_MISMATCH', `the window of ${window.model} ${window.version} from ${window.start.toISOString()} has ${bins === undefined ? 'no' : bins.length} bins for ${key}; the profile has ${slot.size}`, {
          hint: 'windows of one model version are binned against its own profile; query one version at a time',
        });
      }
      for (let i = 0; i < bins.length; i++) counts[slot.offset + i]! += bins[i]!;
    }
    rows += window.rows;
  }
  return { counts, rows };
}

/** A store in memory: for tests, and for a server without a database. */
export function createMemoryHistogramStore(): HistogramStore {
  const kept: HistogramWindow[] = [];
  return {
    async append(window) {
      kept.push(window);
    },
    async windows(query) {
      return kept
        .filter((w) => w.model === query.model && (query.version === undefined || w.version === query.version) && w.start >= query.from && w.start < query.to)
        .sort((a, b) => a.start.getTime() - b.start.getTime());
    },
  };
}
