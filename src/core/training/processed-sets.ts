import { join } from 'node:path';
import { writeChunksAtomic, writeJsonAtomic } from '../fs/atomic.js';
import { summarizePipeline } from '../features/pipeline.js';
import type { PipelineSummary } from '../features/pipeline-spec.js';
import type { LabelledSet } from '../models/model-family.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import type { PreparedSets } from './prepare-sets.js';

export interface ProcessedFiles {
  readonly dir: string;
  readonly files: readonly { readonly name: string; readonly rows: number }[];
  readonly summary: PipelineSummary;
  readonly rows: PreparedSets['rows'];
}

/** Rows per written chunk of a processed set. */
const CSV_BLOCK_ROWS = 4_096;

/** A set as CSV text, a block of rows at a time: a large set is never one string. */
function* csvChunks(set: LabelledSet, featureNames: readonly string[], target: string): Generator<string> {
  const quote = (name: string) => (/[",\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name);
  yield `${[...featureNames.map(quote), quote(target)].join(',')}\n`;
  const { rows, cols } = set.x;
  const block = new Float32Array(Math.min(CSV_BLOCK_ROWS, Math.max(rows, 1)) * cols);
  for (let from = 0; from < rows; from += CSV_BLOCK_ROWS) {
    const to = Math.min(rows, from + CSV_BLOCK_ROWS);
    set.x.fill(from, to, block);
    const lines: string[] = new Array(to - from);
    for (let r = 0; r < to - from; r++) {
      const cells: string[] = new Array(cols + 1);
      for (let c = 0; c < cols; c++) cells[c] = String(block[r * cols + c]);
      cells[cols] = String(set.y[from + r]);
      lines[r] = cells.join(',');
    }
    yield `${lines.join('\n')}\n`;
  }
}

/**
 * Writes the transformed sets (feature columns plus the encoded target), the fitted
 * pipeline and a summary under `dir`, each file atomically.
 */
export async function writeProcessedSets(dir: string, task: TaskSpec, sets: PreparedSets): Promise<ProcessedFiles> {
  const names = sets.pipeline.featureNames;
  const target = task.target.column;
  const files: { name: string; rows: number }[] = [];
  const parts: [string, LabelledSet | undefined][] = [
    ['train.csv', sets.train],
    ['validation.csv', sets.validation],
    ['test.csv', sets.test],
  ];
  for (const [name, set] of parts) {
    if (set === undefined || set.x.rows === 0) continue;
    await writeChunksAtomic(join(dir, name), csvChunks(set, names, target));
    files.push({ name, rows: set.x.rows });
  }
  const summary = summarizePipeline(sets.pipeline);
  await writeJsonAtomic(join(dir, 'pipeline.json'), sets.pipeline);
  await writeJsonAtomic(join(dir, 'summary.json'), { task: task.name, seed: task.split.seed, rows: sets.rows, unseenInTest: sets.unseenInTest, ...summary });
  files.push({ name: 'pipeline.json', rows: 0 }, { name: 'summary.json', rows: 0 });
  return { dir, files, summary, rows: sets.rows };
}
