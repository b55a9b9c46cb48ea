/**
 * Durations as flags write them: a number and one unit, "30d", "12h", "90m", "45s", "2w".
 * Retentions, drift windows and `monitor drift --since` all read them here.
 */

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m", "45s", "2w" in milliseconds; undefined when it is not a positive duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (match === null) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS[match[2]!]!;
  return ms > 0 ? ms : undefined;
}

/** A duration in the largest unit that divides it ("5m", "90s", "30d"); else in seconds ("1.5s"). */
export function formatDuration(ms: number): string {
  const found = Object.entries(DURATION_UNITS)
    .reverse()
    .find(([, size]) => ms % size === 0);
  return found === undefined ? `${ms / 1_000}s` : `${ms / found[1]}${found[0]}`;
}
