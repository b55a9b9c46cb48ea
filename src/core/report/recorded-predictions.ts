import type { BundleManifest } from '../bundle/bundle-manifest.js';
import { interpretOutput } from '../bundle/output-meaning.js';
import type { RunArtifacts } from '../tracking/tracking-store.js';
import type { ReportEvaluation } from './collect-run-report.js';

/** The run artifact where training writes `y,prediction` per test row (model units: log1p targets stay logged). */
export const TEST_PREDICTIONS_FILE = 'test-predictions.csv';

/** A run's recorded test predictions (see parseRecordedPredictions); null when it has none. */
export async function readRecordedPredictions(store: Pick<RunArtifacts, 'readArtifact'>, runId: string): Promise<{ yTrue: Float32Array; scores: Float32Array } | null> {
  const bytes = await store.readArtifact(runId, TEST_PREDICTIONS_FILE);
  return bytes === null ? null : parseRecordedPredictions(Buffer.from(bytes).toString('utf8'));
}

/** Parses a `y,prediction` file (`y,p0,p1,…` for multiclass); null when it holds no row. */
export function parseRecordedPredictions(text: string): { yTrue: Float32Array; scores: Float32Array } | null {
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
export async function recordedEvaluation(store: Pick<RunArtifacts, 'readArtifact'>, runId: string, manifest: BundleManifest): Promise<ReportEvaluation | null> {
  const recorded = await readRecordedPredictions(store, runId).catch(() => null);
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
