/**
 * Request bodies by content type: JSON (`application/json`, `+json` types, MLflow 1's
 * `format=pandas-split|pandas-records` parameter) and, for the prediction routes, CSV with
 * a header row (`text/csv`), as MLflow's scoring server accepts.
 */
import { HttpError } from './http-error.js';
import { recordsFromMlflowBody, recordsFromPredictBody, type PandasFormat } from './mlflow-payload.js';
import { recordsFromCsv } from './request-csv.js';
import { parseRequestJson } from './request-json.js';

export type BodyKind = 'json' | 'csv';

export interface ContentType {
  readonly kind: BodyKind | 'other';
  /** The media type, lower case, without parameters. */
  readonly type: string;
  readonly format?: PandasFormat;
}

const PLAIN_JSON: ContentType = Object.freeze({ kind: 'json', type: 'application/json' });

/** A Content-Type header read into the kind of body it announces; undefined when there was none. */
export function parseContentType(header: string | undefined): ContentType | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (header === 'application/json') return PLAIN_JSON;
  const [media = '', ...parameters] = header.split(';');
  const type = media.trim().toLowerCase();
  let format: PandasFormat | undefined;
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=', 2);
    if (name.trim().toLowerCase() !== 'format') continue;
    const v = value.trim().replace(/^"|"$/g, '').toLowerCase();
    if (v === 'pandas-split' || v === 'pandas-records') format = v;
    else throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `format=${v} is not a format the scoring protocol knows; use pandas-split or pandas-records, or leave the parameter out`, [], { accept: 'application/json, text/csv' });
  }
  const kind = type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json')) ? 'json' : type === 'text/csv' ? 'csv' : 'other';
  return { kind, type, ...(format === undefined ? {} : { format }) };
}

function unsupported(header: string | undefined, accepted: readonly string[]): HttpError {
  return new HttpError(
    415,
    'UNSUPPORTED_MEDIA_TYPE',
    `send the body as ${accepted.join(' or ')} (Content-Type was ${header === undefined || header.trim() === '' ? 'missing' : JSON.stringify(header)})`,
    [],
    { accept: accepted.join(', ') },
  );
}

function bodyText(body: Buffer, what: string): string {
  const text = body.toString('utf8');
  if (isBlank(text)) throw new HttpError(400, 'BODY_EMPTY', `the request body is empty; send ${what}`);
  return text;
}

const BLANK = /^\s$/;

/** Only whitespace (as String#trim counts it); stops at the first other character, so a body costs one look. */
function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!BLANK.test(text[i]!)) return false;
  return true;
}

/** A JSON body (routes that take one object: /predict_income, /users). */
export function readJsonBody(contentType: string | undefined, body: Buffer): unknown {
  const parsed = parseContentType(contentType);
  if (parsed?.kind !== 'json') throw unsupported(contentType, ['application/json']);
  return parseRequestJson(bodyText(body, 'a JSON document'));
}

/**
 * The records of a prediction body: JSON in mlctl's shapes (/predict) or exactly MLflow's
 * (/invocations), or CSV with a header row.
 */
export function readRecordsBody(contentType: string | undefined, body: Buffer, protocol: 'mlctl' | 'mlflow'): unknown[] {
  const parsed = parseContentType(contentType);
  if (parsed?.kind === 'csv') return recordsFromCsv(bodyText(body, 'a header row and one row per record'));
  if (parsed?.kind !== 'json') throw unsupported(contentType, ['application/json', 'text/csv']);
  const document = parseRequestJson(bodyText(body, 'a JSON document'));
  return protocol === 'mlflow' ? recordsFromMlflowBody(document, parsed.format) : recordsFromPredictBody(document, parsed.format);
}
