/**
 * Dates as the pipeline reads them: ISO 8601 dates (`2024-03-09`, also `2024/03/09`) and
 * date-times (`2024-03-09T14:30`, `2024-03-09 14:30:05.250`, with an optional `Z` or `±hh:mm`).
 * Day-first and month-first spellings (`03/09/2024`) are refused: which one a file means
 * cannot be told from the text. The parts are those of the date as written (a zone offset
 * is accepted and ignored), so a model sees the calendar the data was recorded in.
 */

/** Parts a date step can produce, each one feature. */
export const DATE_PARTS = ['year', 'month', 'day', 'day_of_week', 'day_of_year', 'hour', 'days_since_epoch'] as const;
export type DatePart = (typeof DATE_PARTS)[number];

/** What a date step produces unless told otherwise. */
export const DEFAULT_DATE_PARTS: readonly DatePart[] = ['year', 'month', 'day_of_week', 'day_of_year', 'days_since_epoch'];

const DATE_TIME = /^(\d{4})([-/])(\d{2})\2(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

const MS_PER_DAY = 86_400_000;

/** A parsed date: milliseconds since 1970-01-01T00:00 of the wall-clock time as written. */
export interface ParsedDate {
  readonly ms: number;
  /** The text carried a time of day. */
  readonly hasTime: boolean;
}

/** The date in `text`, or undefined when it is not one of the accepted spellings or not a real day. */
export function parseDate(text: string): ParsedDate | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[3]);
  const day = Number(m[4]);
  const hour = m[5] === undefined ? 0 : Number(m[5]);
  const minute = m[6] === undefined ? 0 : Number(m[6]);
  const second = m[7] === undefined ? 0 : Number(m[7]);
  const millis = m[8] === undefined ? 0 : Number(`0.${m[8]}`) * 1000;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 2023-02-30 over into March: a real day keeps its own month and day.
  const check = new Date(ms);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return { ms, hasTime: m[5] !== undefined };
}

/** One part of a parsed date, as a number. */
export function datePart(ms: number, part: DatePart): number {
  const d = new Date(ms);
  switch (part) {
    case 'year':
      return d.getUTCFullYear();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'day':
      return d.getUTCDate();
    case 'day_of_week':
      // Monday 0 … Sunday 6, as pandas' dayofweek.
      return (d.getUTCDay() + 6) % 7;
    case 'day_of_year':
      return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / MS_PER_DAY) + 1;
    case 'hour':
      return d.getUTCHours();
    case 'days_since_epoch':
      return ms / MS_PER_DAY;
  }
}

/** The feature name of one part of a date column: `signup.year`. */
export function datePartName(column: string, part: DatePart): string {
  return `${column}.${part}`;
}

/** What the accepted spellings look like, for messages. */
export const DATE_FORMATS_TEXT = 'YYYY-MM-DD or an ISO 8601 date-time such as 2024-03-09T14:30:00';
