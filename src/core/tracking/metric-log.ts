import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { MetricPoint } from './run-store.js';

/**
 * Metric histories are JSON lines, appended only: `{"step":0,"value":0.5,"timestamp":…}`.
 * Non-finite values (a diverging loss) are written as the strings "NaN", "Infinity",
 * "-Infinity" since JSON has no spelling for them. A line that does not parse (the torn
 * tail of a killed process) is skipped, never fatal.
 */
export function encodeMetricLine(step: number, value: number, timestamp: number): string {
  const encoded = Number.isFinite(value) ? String(value) : `"${String(value)}"`;
  return `{"step":${step},"value":${encoded},"timestamp":${timestamp}}\n`;
}

export function decodeMetricLine(line: string): MetricPoint | undefined {
  if (line === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { step, value, timestamp } = parsed as Record<string, unknown>;
  if (typeof step !== 'number' || typeof timestamp !== 'number') return undefined;
  const decoded = typeof value === 'number' ? value : decodeNonFinite(value);
  if (decoded === undefined) return undefined;
  return { step, value: decoded, timestamp };
}

function decodeNonFinite(value: unknown): number | undefined {
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

export interface ParsedMetricLog {
  readonly points: readonly MetricPoint[];
  /** Lines that did not parse, by 1-based line number (a torn last line included). */
  readonly badLines: readonly number[];
  /** The file does not end with a newline: its last write was interrupted. */
  readonly tornTail: boolean;
}

export function parseMetricLog(text: string): ParsedMetricLog {
  const points: MetricPoint[] = [];
  const badLines: number[] = [];
  const lines = text.split('\n');
  const tornTail = text !== '' && !text.endsWith('\n');
  // The last element is '' for a complete file, or the torn tail otherwise.
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line === '') continue;
    const point = decodeMetricLine(line);
    if (point === undefined || (i === lines.length - 1 && tornTail)) badLines.push(i + 1);
    else points.push(point);
  }
  return { points, badLines, tornTail };
}

export async function readMetricLog(path: string): Promise<ParsedMetricLog> {
  return parseMetricLog(await readFile(path, 'utf8'));
}

const TAIL_BYTES = 4096;

/**
 * The last complete point of a metric file, reading only its tail: final metrics of
 * thousands of runs are gathered without reading whole histories. Falls back to the
 * whole file when the tail holds no complete line.
 */
export function readLastMetricPointSync(path: string): MetricPoint | undefined {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size === 0) return undefined;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    // The last element is '' (complete file) or a torn line; the first may be cut by the window.
    const first = length < size ? 1 : 0;
    for (let i = lines.length - 2; i >= first; i -= 1) {
      const point = decodeMetricLine(lines[i]!);
      if (point !== undefined) return point;
    }
    if (length < size) return parseMetricLog(readFileSync(path, 'utf8')).points.at(-1);
    return undefined;
  } finally {
    closeSync(fd);
  }
}
