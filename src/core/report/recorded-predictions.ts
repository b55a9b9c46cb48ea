import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BundleManifest } from '../bundle/bundle-manifest.js';
import { interpretOutput } from '../bundle/output-meaning.js';
import { createFileRunStore } from '../tracking/file-run-store.js';
import type { ReportEvaluation } from './collect-run-report.js';

/** Where training writes `y,prediction` per test row (model units: log1p targets stay logged). */
export const TEST_PREDICTIONS_FILE = join('artifacts', 'test-predictions.csv');

/** Reads a `y,prediction` file (`y,p0,p1,…` for multiclass); null when it is missing or holds no row. */
export async function readRecordedPredictions(path: string): Promise<{ yTrue: Float32Array; scores: Float32Array } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  const y: number[] = [];
  const p: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    if (line === '') continue;
    const cells = line.split(',').map(Number);
    if (cells.length >= 2 && cells.every(Number.isFinite)) {
      y.push(cells[0]!);
      for (let k = 1; k < cells.length; k++) p.push(cells[k]!);
    }
  }
  return y.length === 0 ? null : { yTrue: Float32Array.from(y), scores: Float32Array.from(p) };
}

/**
 * The evaluation a run recorded when it was trained, for when its test rows cannot be loaded
 * again (no data on this machine): curves and metrics, but no records, so no slices and no
 * permutation importance. Null when the run or its predictions file is not there.
 */
export async function recordedEvaluation(runsDir: string, runId: string, manifest: BundleManifest): Promise<ReportEvaluation | null> {
  const store = createFileRunStore({ root: runsDir });
  const location = await store.locateRun(runId).catch(() => null);
  if (location === null) return null;
  const recorded = await readRecordedPredictions(join(location.dir, TEST_PREDICTIONS_FILE));
  if (recorded === null) return null;
  const evaluation = interpretOutput(manifest.output).evaluate(recorded.yTrue, recorded.scores);
  return {
    ...evaluation,
    rows: recorded.yTrue.length,
    source: `test predictions recorded by run ${runId}`,
    yTrue: recorded.yTrue,
    scores: recorded.scores,
  };
}
