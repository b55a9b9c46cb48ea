import type { Command } from 'commander';
import type { CliContext } from '../ui/context.js';
import { registerDataCommands } from './data.js';
import { registerPreprocessCommands } from './preprocess.js';
import { registerTrainCommands } from './train.js';
import { registerEvaluateCommands } from './evaluate.js';
import { registerPredictCommands } from './predict.js';
import { registerRunsCommands } from './runs.js';
import { registerModelsCommands } from './models.js';
import { registerDbCommands } from './db.js';
import { registerSyncCommands } from './sync.js';
import { registerStorageCommands } from './storage.js';
import { registerPipelineCommands } from './pipeline.js';
import { registerServeCommands } from './serve.js';
import { registerReportCommands } from './report.js';
import { registerRunsDiffCommand } from './runs-diff.js';

/**
 * Every command group, registered in the order `mlctl --help` lists them. Command files
 * must stay light to import: heavy modules (TensorFlow.js, the AWS SDK, kysely, the HTTP
 * server) are imported inside actions, never at the top of a command file.
 */
export function registerCommands(program: Command, context: CliContext): void {
  registerDataCommands(program, context);
  registerPreprocessCommands(program, context);
  registerTrainCommands(program, context);
  registerEvaluateCommands(program, context);
  registerPredictCommands(program, context);
  registerRunsCommands(program, context);
  registerModelsCommands(program, context);
  registerDbCommands(program, context);
  registerSyncCommands(program, context);
  registerStorageCommands(program, context);
  registerPipelineCommands(program, context);
  registerServeCommands(program, context);
  registerReportCommands(program, context);
  registerRunsDiffCommand(program, context);
}
