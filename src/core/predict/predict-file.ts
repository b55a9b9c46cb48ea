/**
 * `predict --input big.csv --output preds.csv`: a CSV scored a chunk of the file at a time
 * (`streamCsvRecords`), each chunk's answers appended to the output in input order before the
 * next chunk is read, so memory holds one chunk whatever the file's size.
 *
 * The output is written to a temporary sibling and renamed into place only once every row
 * is answered: a bad line, an invalid value or an interrupt leaves no output file behind (and
 * an older one untouched).
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import { streamCsvRecords } from '../datasets/csv-reader.js';
import type { BadLinePolicy, BadLines } from '../datasets/bad-lines.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { temporaryPathFor } from '../fs/atomic.js';
import type { UnseenCategory } from '../features/pipeline.js';
import type { Prediction, Predictor, PredictionWarning } from './predictor.js';

export interface PredictFileOptions {
  readonly input: string;
  /** .csv: one row per input row; anything else: JSON lines. */
  readonly output: string;
  readonly missing?: readonly string[];
  readonly onBadLine?: BadLinePolicy;
  readonly signal?: AbortSignal;
  readonly onUnseen?: (event: UnseenCategory) => void;
  /** A value outside the training range, named by file line. */
  readonly onWarning?: (where: string, warning: PredictionWarning) => void;
  readonly onProgress?: (bytesRead: number, totalBytes: number, rows: number) => void;
}

export interface PredictFileResult {
  readonly rows: number;
  readonly output: string;
  readonly format: 'csv' | 'jsonl';
  readonly badLines: BadLines | null;
}

/** Scores every row of a CSV into `output`, streaming; see the module comment. */
export async function predictCsvFile(predictor: Predictor, options: PredictFileOptions): Promise<PredictFileResult> {
  const format = extname(options.output).toLowerCase() === '.csv' ? 'csv' : 'jsonl';
  const file = basename(options.input);
  await mkdir(dirname(options.output), { recursive: true });
  const temporary = temporaryPathFor(options.output);
  const handle = await open(temporary, 'w');
  let rows = 0;
  let columns: readonly string[] | undefined;
  try {
    const summary = await streamCsvRecords(
      options.input,
      {
        ...(options.missing === undefined ? {} : { missing: options.missing }),
        ...(options.onBadLine === undefined ? {} : { onBadLine: options.onBadLine }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined ? {} : { onProgress: (read: number, total: number) => options.onProgress!(read, total, rows) }),
      },
      async (records: DataRecord[], lines: readonly number[]) => {
        const where = (index: number) => `${file} line ${lines[index]}`;
        const predictions = await predictor.predict(records, {
          numbersForStrings: 'spell',
          recordName: where,
          ...(options.onUnseen === undefined ? {} : { onUnseen: (event: UnseenCategory) => options.onUnseen!({ ...event, row: lines[event.row] ?? event.row }) }),
        });
        let text = '';
        if (format === 'csv') {
          if (columns === undefined) {
            columns = csvColumns(predictor, records[0]);
            text += `${columns.map(csvField).join(',')}\n`;
          }
          for (const prediction of predictions) text += `${csvRow(prediction, columns)}\n`;
        } else {
          for (const prediction of predictions) text += `${JSON.stringify(prediction)}\n`;
        }
        predictions.forEach((prediction, i) => {
          for (const warning of prediction.warnings ?? []) if (warning.kind === 'out-of-range') options.onWarning?.(where(i), warning);
        });
        await handle.write(text);
        rows += records.length;
      },
    );
    if (format === 'csv' && columns === undefined) await handle.write(`${csvColumns(predictor, undefined).map(csvField).join(',')}\n`);
    await handle.sync();
    await handle.close();
    await rename(temporary, options.output);
    return { rows, output: options.output, format, badLines: summary.badLines };
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The output's header: the input's id when it has one, then the answer's fields. */
function csvColumns(predictor: Predictor, first: DataRecord | undefined): string[] {
  const id = first !== undefined && 'id' in first ? ['id'] : [];
  const meaning = predictor.meaning;
  if (meaning.description.kind === 'class-probabilities') return [...id, 'label', ...meaning.labels.map((label) => `p(${label})`)];
  return [...id, ...(meaning.classification ? ['label', 'probability'] : ['prediction'])];
}

function csvRow(prediction: Prediction, columns: readonly string[]): string {
  return columns
    .map((column) => {
      if (column === 'id') return csvField(prediction.id === undefined ? '' : String(prediction.id));
      if (column === 'label' && 'label' in prediction) return csvField(prediction.label);
      if (column === 'probability' && 'probability' in prediction) return String(prediction.probability);
      if (column === 'prediction' && 'prediction' in prediction) return String(prediction.prediction);
      if ('probabilities' in prediction && column.startsWith('p(')) return String(prediction.probabilities[column.slice(2, -1)]);
      return '';
    })
    .join(',');
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
