/**
 * What a reader does with a line that has the wrong number of fields: 'error' (the default)
 * refuses the file, naming every such line (the first 20, and a count), before anything is
 * started; 'skip' leaves the line out and counts it, so the caller can say how many were
 * skipped and where the first were.
 */
export type BadLinePolicy = 'error' | 'skip';

export interface BadLineOptions {
  readonly onBadLine?: BadLinePolicy;
}

/** Lines skipped under 'skip': how many, and the first few line numbers. */
export interface BadLines {
  readonly count: number;
  readonly lines: readonly number[];
}

/** Line numbers kept per file for the message; the rest are counted. */
const LINES_KEPT = 5;

export class BadLineCounter {
  private count = 0;
  private readonly lines: number[] = [];

  constructor(private readonly policy: BadLinePolicy) {}

  /** Whether line `line` (a bad one) is skipped; when not, it is the caller's to report. */
  skip(line: number): boolean {
    if (this.policy !== 'skip') return false;
    this.count++;
    if (this.lines.length < LINES_KEPT) this.lines.push(line);
    return true;
  }

  /** The skipped lines, or null when none were. */
  summary(): BadLines | null {
    return this.count === 0 ? null : { count: this.count, lines: [...this.lines] };
  }
}

/** "3 lines with the wrong number of fields skipped (lines 7, 90, …)". */
export function describeBadLines(file: string, bad: BadLines): string {
  const more = bad.count > bad.lines.length ? ', …' : '';
  return `${file}: ${bad.count.toLocaleString('en-US')} line${bad.count === 1 ? '' : 's'} with the wrong number of fields skipped (line${bad.lines.length === 1 ? '' : 's'} ${bad.lines.join(', ')}${more})`;
}
