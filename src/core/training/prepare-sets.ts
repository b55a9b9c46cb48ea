import { selectRows, type TableRows } from '../datasets/data-table.js';
import { interpretOutput, type OutputMeaning } from '../bundle/output-meaning.js';
import { createFeatureRows } from '../features/feature-rows.js';
import { featureInfo, fitPipelineOnRows } from '../features/pipeline.js';
import type { FittedPipeline, PipelineSpec } from '../features/pipeline-spec.js';
import { randomSplit, stratifiedSplit } from '../features/split.js';
import type { LabelledSet } from '../models/model-family.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import { encodeTarget, type TaskData } from './task-data.js';

/** The fitted pipeline and the train / validation / test sets it produced. */
export interface PreparedSets {
  readonly pipeline: FittedPipeline;
  readonly meaning: OutputMeaning;
  readonly train: LabelledSet;
  /** The rows the pipeline was fitted on, as read: the reference profile describes them. */
  readonly trainRows: TableRows;
  readonly validation: LabelledSet | undefined;
  readonly test: LabelledSet;
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  /** Test values whose category the pipeline had not seen (handled by its policy). */
  readonly unseenInTest: number;
}

/** The steps of preparing the sets, for progress. */
export type PreparePhase = 'split' | 'fit-pipeline' | 'transform';

/**
 * Holds out the validation rows (seeded, stratified for classifiers), fits the pipeline on
 * the remaining training rows only, column by column, and prepares every set's features over
 * the columnar rows (written on demand, never held whole: see FeatureRows). `train` and
 * `preprocess` share this, so the files `preprocess` writes are exactly what `train` fits.
 * `features` replaces the task's preprocessing (a model family's adapted spec).
 */
export function prepareSets(task: TaskSpec, data: TaskData, features: PipelineSpec = task.features, onPhase?: (phase: PreparePhase) => void): PreparedSets {
  const meaning = interpretOutput(data.output);
  onPhase?.('split');
  const yAll = encodeTarget(meaning, data.train, 'training data');
  const count = data.train.index.length;
  const split =
    task.split.validation <= 0
      ? { train: Uint32Array.from({ length: count }, (_, i) => i), holdout: new Uint32Array(0) }
      : task.split.stratify && meaning.classification
        ? stratifiedSplit(yAll, task.split.validation, task.split.seed)
        : randomSplit(count, task.split.validation, task.split.seed);
  const trainRows = selectRows(data.train, split.train);
  const validationRows = selectRows(data.train, split.holdout);
  onPhase?.('fit-pipeline');
  const pipeline = fitPipelineOnRows(features, trainRows, task.bounds === undefined ? {} : { bounds: task.bounds });
  onPhase?.('transform');
  const info = featureInfo(pipeline);
  const labelled = (rows: TableRows, y: Float32Array, onUnseen?: () => void): LabelledSet => ({
    x: createFeatureRows(pipeline, rows, onUnseen === undefined ? {} : { onUnseen }),
    y,
    features: info,
  });
  let unseenInTest = 0;
  const testY = encodeTarget(meaning, data.test, 'test data');
  return {
    pipeline,
    meaning,
    train: labelled(trainRows, Float32Array.from(split.train, (i) => yAll[i] as number)),
    trainRows,
    validation: validationRows.index.length > 0 ? labelled(validationRows, Float32Array.from(split.holdout, (i) => yAll[i] as number)) : undefined,
    test: labelled(data.test, testY, () => (unseenInTest += 1)),
    rows: { train: trainRows.index.length, validation: validationRows.index.length, test: data.test.index.length },
    get unseenInTest() {
      return unseenInTest;
    },
  };
}
