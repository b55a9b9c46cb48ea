import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import { materialize } from '../features/feature-rows.js';
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

function toCsv(set: LabelledSet, featureNames: readonly string[], target: string): string {
  const quote = (name: string) => (/[",\n]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name);
  const lines: string[] = [[...featureNames.map(quote), quote(target)].join(',')];
  const { data, rows, cols } = materialize(set.x);
  for (let r = 0; r < rows; r++) {
    const cells: string[] = new Array(cols + 1);
    for (let c = 0; c < cols; c++) cells[c] = String(data[r * cols + c]);
    cells[cols] = String(set.y[r]);
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
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
    await writeFileAtomic(join(dir, name), toCsv(set, names, target));
    files.push({ name, rows: set.x.rows });
  }
  const summary = summarizePipeline(sets.pipeline);
  await writeJsonAtomic(join(dir, 'pipeline.json'), sets.pipeline);
  await writeJsonAtomic(join(dir, 'summary.json'), { task: task.name, seed: task.split.seed, rows: sets.rows, unseenInTest: sets.unseenInTest, ...summary });
  files.push({ name: 'pipeline.json', rows: 0 }, { name: 'summary.json', rows: 0 });
  return { dir, files, summary, rows: sets.rows };
}
