import type { DataRecord } from '../datasets/dataset-spec.js';
import { interpretOutput, type OutputMeaning } from '../bundle/output-meaning.js';
import { featureInfo, fitPipeline, transformRecords } from '../features/pipeline.js';
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
  readonly trainRecords: readonly DataRecord[];
  readonly validation: LabelledSet | undefined;
  readonly test: LabelledSet;
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  /** Test values whose category the pipeline had not seen (handled by its policy). */
  readonly unseenInTest: number;
}

function subset(records: readonly DataRecord[], indices: Uint32Array): DataRecord[] {
  return Array.from(indices, (i) => records[i] as DataRecord);
}

/**
 * Holds out the validation rows (seeded, stratified for classifiers), fits the pipeline on
 * the remaining training rows only, and transforms every set with it. `train` and
 * `preprocess` share this, so the files `preprocess` writes are exactly what `train` fits.
 * `features` replaces the task's preprocessing (a model family's adapted spec).
 */
export function prepareSets(task: TaskSpec, data: TaskData, features: PipelineSpec = task.features): PreparedSets {
  const meaning = interpretOutput(data.output);
  const yAll = encodeTarget(meaning, data.train, 'training data');
  const split =
    task.split.validation <= 0
      ? { train: Uint32Array.from(data.train.keys()), holdout: new Uint32Array(0) }
      : task.split.stratify && meaning.classification
        ? stratifiedSplit(yAll, task.split.validation, task.split.seed)
        : randomSplit(data.train.length, task.split.validation, task.split.seed);
  const trainRecords = subset(data.train, split.train);
  const validationRecords = subset(data.train, split.holdout);
  const pipeline = fitPipeline(features, trainRecords, task.bounds === undefined ? {} : { bounds: task.bounds });
  const info = featureInfo(pipeline);
  const labelled = (records: readonly DataRecord[], y: Float32Array, onUnseen?: () => void): LabelledSet => ({
    x: transformRecords(pipeline, records, onUnseen === undefined ? {} : { onUnseen }),
    y,
    features: info,
  });
  let unseenInTest = 0;
  return {
    pipeline,
    meaning,
    train: labelled(trainRecords, Float32Array.from(split.train, (i) => yAll[i] as number)),
    trainRecords,
    validation: validationRecords.length > 0 ? labelled(validationRecords, Float32Array.from(split.holdout, (i) => yAll[i] as number)) : undefined,
    test: labelled(data.test, encodeTarget(meaning, data.test, 'test data'), () => (unseenInTest += 1)),
    rows: { train: trainRecords.length, validation: validationRecords.length, test: data.test.length },
    get unseenInTest() {
      return unseenInTest;
    },
  };
}
