/**
 * `text/csv` bodies, as MLflow's scoring server reads them with pandas: a header row, then
 * one record per row (RFC 4180 quoting). Every value stays a string, which the record
 * validation converts for numeric columns; pandas' default missing-value markers (the
 * empty field, `NaN`, `NA`, `null`, …) are missing values.
 */
import { HttpError, MAX_PROBLEMS, type FieldProblem } from './http-error.js';

/** pandas.read_csv's default `na_values`. */
const MISSING = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** A run of characters that end no field (sticky: matched from lastIndex). */
const PLAIN = /[^,\r\n]*/y;

/** Splits CSV text into rows of fields; throws on an unterminated quote. */
function parseRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let quotedField = false;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '' && !quotedField) {
      // A quoted field: "" inside is one quote.
      quotedField = true;
      i++;
      for (;;) {
        const end = text.indexOf('"', i);
        if (end < 0) throw new HttpError(400, 'BODY_MALFORMED_CSV', `the CSV body has an unterminated quoted field on row ${rows.length + 1}`);
        field += text.slice(i, end);
        if (text[end + 1] === '"') {
          field += '"';
          i = end + 2;
        } else {
          i = end + 1;
          break;
        }
      }
    } else if (c === ',') {
      row.push(field);
      field = '';
      quotedField = false;
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      quotedField = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      PLAIN.lastIndex = i + 1;
      PLAIN.exec(text);
      field += text.slice(i, PLAIN.lastIndex);
      i = PLAIN.lastIndex;
    }
  }
  if (field !== '' || row.length > 0 || quotedField) {
    row.push(field);
    rows.push(row);
  }
  // Blank lines carry no record.
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

/** The records of a CSV body with a header row; a row with the wrong number of fields is a 422 naming it. */
export function recordsFromCsv(text: string): Record<string, unknown>[] {
  const rows = parseRows(text);
  const header = rows[0];
  if (header === undefined) throw new HttpError(400, 'BODY_EMPTY', 'the CSV body has no header row; send a header row and one row per record');
  const names = header.map((name) => name.trim());
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new HttpError(422, 'BODY_NOT_RECORDS', `the CSV header names column "${duplicate}" twice`);
  const problems: FieldProblem[] = [];
  const records = rows.slice(1).map((row, i) => {
    if (row.length !== names.length && problems.length < MAX_PROBLEMS) problems.push({ record: i + 1, message: `row has ${row.length} fields for ${names.length} columns` });
    const record: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) {
      const value = row[c];
      record[names[c]!] = value === undefined || MISSING.has(value.trim()) ? null : value;
    }
    return record;
  });
  if (problems.length > 0) throw new HttpError(422, 'BODY_NOT_RECORDS', 'CSV rows do not match the header', problems);
  return records;
}
