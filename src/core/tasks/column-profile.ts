/**
 * What a column holds, from its values alone: the rules `task init`, `train --data --target`
 * and `data describe` share. One pass per column over records already read with the task's
 * missing markers (null = missing), values as text or numbers.
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { parseDate } from '../features/dates.js';

export type ColumnKind =
  | 'numeric'
  | 'categorical'
  | 'boolean'
  | 'date'
  | 'datetime'
  /** Every value differs (a row number, a key, free text): excluded from features. */
  | 'id-like'
  /** Too many distinct texts for categories (free text, near-unique codes): excluded. */
  | 'high-cardinality'
  /** One value only: carries no information, excluded. */
  | 'constant'
  /** Every value missing: excluded. */
  | 'empty';

export interface ColumnProfile {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly rows: number;
  readonly missing: number;
  readonly distinct: number;
  /** Every present value is a number (text that parses as one counts). */
  readonly numeric: boolean;
  /** Every present value is a whole number. */
  readonly integer: boolean;
  /** Distinct values, sorted (numerically when numeric), when there are at most MAX_LISTED_VALUES. */
  readonly values?: readonly string[];
  /** Boolean columns: the spellings meaning yes and no, as found. */
  readonly yesNo?: { readonly yes: string; readonly no: string };
  /** Why the kind was chosen, for the notes shown to the user. */
  readonly reason: string;
}

/** A column with more distinct texts than this (and than half its values) is not a category. */
export const MAX_CATEGORIES = 50;
/** Below this many values, "every value differs" says nothing about a column. */
export const MIN_ROWS_FOR_ID = 20;
const MAX_LISTED_VALUES = 200;

/** Two-valued spellings read as yes/no, yes first (case-insensitive). */
export const YES_NO_PAIRS: readonly (readonly [string, string])[] = [
  ['yes', 'no'],
  ['true', 'false'],
  ['y', 'n'],
];

const ID_NAME = /(^|[^a-z])(id|uuid|guid|key|index)$|^(id|row|index)([^a-z]|$)/i;

function numberOf(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const text = value.trim();
  if (text === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Profiles one column of `records`. */
export function profileColumn(name: string, records: readonly DataRecord[]): ColumnProfile {
  let missing = 0;
  let numeric = true;
  let integer = true;
  let dates = true;
  let withTime = false;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  // Whether the numbers rise row after row, as a row number does.
  let rising = true;
  let previous = Number.NEGATIVE_INFINITY;
  const distinct = new Map<string, number | undefined>();
  for (const record of records) {
    const value = record[name];
    if (value === null || value === undefined) {
      missing++;
      continue;
    }
    const text = String(value).trim();
    let n: number | undefined;
    if (!distinct.has(text)) {
      n = numberOf(value);
      distinct.set(text, n);
      if (dates) {
        const parsed = typeof value === 'string' ? parseDate(text) : undefined;
        if (parsed === undefined) dates = false;
        else if (parsed.hasTime) withTime = true;
      }
    } else {
      n = distinct.get(text);
    }
    if (n === undefined) {
      numeric = false;
      integer = false;
    } else {
      if (!Number.isInteger(n)) integer = false;
      if (n <= previous) rising = false;
      previous = n;
      if (n < min) min = n;
      if (n > max) max = n;
    }
  }
  const rows = records.length;
  const present = rows - missing;
  const keys = [...distinct.keys()];
  const sorted = numeric ? keys.sort((a, b) => (distinct.get(a) as number) - (distinct.get(b) as number)) : keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const base = {
    name,
    rows,
    missing,
    distinct: distinct.size,
    numeric: numeric && present > 0,
    integer: integer && present > 0,
    ...(distinct.size <= MAX_LISTED_VALUES ? { values: sorted } : {}),
  };
  return { ...base, ...classifyColumn({ name, present, distinct: distinct.size, distinctExact: true, numeric, integer, rising, min, max, dates, withTime, values: sorted }) };
}

/** What a pass over a column found, for `classifyColumn`. */
export interface ColumnFacts {
  readonly name: string;
  /** Values present (not missing). */
  readonly present: number;
  readonly distinct: number;
  /** Whether `distinct` is a count (else an estimate, from a sketch). */
  readonly distinctExact: boolean;
  /** Every present value is a number / a whole number. */
  readonly numeric: boolean;
  readonly integer: boolean;
  /** The numbers rise row after row. */
  readonly rising: boolean;
  readonly min: number;
  readonly max: number;
  /** Every present value is an ISO date (`withTime`: some with a time). */
  readonly dates: boolean;
  readonly withTime: boolean;
  /** The distinct values, sorted, when they are known (needed below MAX_CATEGORIES for yes/no and constants). */
  readonly values?: readonly string[];
}

/** Share of the present values an estimated distinct count must reach for "every value differs". */
const ESTIMATED_ALL_DISTINCT = 0.97;

/**
 * The kind of a column from what one pass over it found: the rules `task init`,
 * `train --data --target` and `data describe` share, whether the pass kept every value
 * (profileColumn) or streamed it with sketches (csv-profile.ts).
 */
export function classifyColumn(facts: ColumnFacts): { kind: ColumnKind; reason: string; yesNo?: { yes: string; no: string } } {
  const { name, present, distinct, numeric, integer, rising, min, max } = facts;
  const sorted = facts.values ?? [];
  if (present === 0) return { kind: 'empty', reason: 'every value is missing' };
  if (distinct === 1) return { kind: 'constant', reason: `every value is ${JSON.stringify(sorted[0])}` };
  // Yes/no in any case: "Yes", "no" and "YES" are one flag.
  const lower = new Set(sorted.map((v) => v.toLowerCase()));
  if (lower.size === 2) {
    for (const [yes, no] of YES_NO_PAIRS) {
      if (lower.has(yes) && lower.has(no)) return { kind: 'boolean', yesNo: { yes, no }, reason: `${yes}/${no}` };
    }
  }
  const allDistinct = present >= MIN_ROWS_FOR_ID && (facts.distinctExact ? distinct === present : distinct >= present * ESTIMATED_ALL_DISTINCT);
  if (numeric) {
    // A row number: 0…n-1 or 1…n, in file order.
    const rowNumber = integer && rising && (min === 0 || min === 1) && max - min + 1 === distinct;
    if (allDistinct && integer && (ID_NAME.test(name) || rowNumber)) {
      return { kind: 'id-like', reason: rowNumber ? `the row number ${min}…${max}` : 'every value is a different whole number, and the name says identifier' };
    }
    return { kind: 'numeric', reason: integer ? 'whole numbers' : 'numbers' };
  }
  if (facts.dates) return { kind: facts.withTime ? 'datetime' : 'date', reason: facts.withTime ? 'ISO date-times' : 'ISO dates' };
  if (allDistinct) return { kind: 'id-like', reason: `every one of its ${present} values differs (an identifier or free text)` };
  if (distinct > MAX_CATEGORIES && distinct > present / 2) {
    return { kind: 'high-cardinality', reason: `${distinct} distinct texts in ${present} values: too many for categories` };
  }
  return { kind: 'categorical', reason: `${distinct} categories` };
}

/** Profiles every column of a table. */
export function profileColumns(columns: readonly string[], records: readonly DataRecord[]): ColumnProfile[] {
  return columns.map((name) => profileColumn(name, records));
}
