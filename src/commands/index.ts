import type { Command } from 'commander';
import type { CliContext } from '../ui/context.js';

/**
 * The command groups, as data. A group's module is imported only when that group is run:
 * `mlctl --help` lists every group from this table without loading any of them, and
 * `mlctl runs show` loads the runs group alone. Command files stay light to import as well:
 * heavy modules (TensorFlow.js, the AWS SDK, kysely, the HTTP server) are imported inside
 * actions. `summary` is what the top-level help shows; keep it in step with the group's own
 * description.
 */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  register(program: Command, context: CliContext): Promise<void>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    name: 'data',
    summary: 'download, verify, list and describe datasets',
    register: async (p, c) => (await import('./data.js')).registerDataCommands(p, c),
  },
  {
    name: 'preprocess',
    summary: "fit a task's preprocessing pipeline on its training rows and write the transformed sets",
    register: async (p, c) => (await import('./preprocess.js')).registerPreprocessCommands(p, c),
  },
  {
    name: 'task',
    summary: 'write and check task files: infer one from a CSV (task init), validate one',
    register: async (p, c) => (await import('./task.js')).registerTaskCommands(p, c),
  },
  {
    name: 'train',
    summary: 'train a task end to end: data → preprocessing → model → evaluation → a recorded run and bundle',
    register: async (p, c) => (await import('./train.js')).registerTrainCommands(p, c),
  },
  {
    name: 'evaluate',
    summary: 'evaluate a model bundle on labelled rows; gate CI on the result',
    register: async (p, c) => (await import('./evaluate.js')).registerEvaluateCommands(p, c),
  },
  {
    name: 'predict',
    summary: 'predict with a model bundle from a file, stdin or a stored user',
    register: async (p, c) => (await import('./predict.js')).registerPredictCommands(p, c),
  },
  {
    name: 'runs',
    summary: 'query and maintain tracked runs: list, show, compare, diff, tag, delete, verify…',
    register: async (p, c) => {
      (await import('./runs.js')).registerRunsCommands(p, c);
      (await import('./runs-diff.js')).registerRunsDiffCommand(p, c);
    },
  },
  {
    name: 'models',
    summary: 'the model registry: named models, numbered versions, aliases such as production',
    register: async (p, c) => (await import('./models.js')).registerModelsCommands(p, c),
  },
  {
    name: 'tracking',
    summary: 'the tracking store: migrate its PostgreSQL tables, show where it is, import a runs folder into it',
    register: async (p, c) => (await import('./tracking.js')).registerTrackingCommands(p, c),
  },
  {
    name: 'db',
    summary: 'the user database: migrations, backups, population from Adult, user records',
    register: async (p, c) => (await import('./db.js')).registerDbCommands(p, c),
  },
  {
    name: 'sync',
    summary: 'push and pull runs, models and raw data to and from S3 (incremental, verified)',
    register: async (p, c) => (await import('./sync.js')).registerSyncCommands(p, c),
  },
  {
    name: 'storage',
    summary: 'look at and prepare S3 storage (AWS, LocalStack, MinIO): buckets and objects',
    register: async (p, c) => (await import('./storage.js')).registerStorageCommands(p, c),
  },
  {
    name: 'pipeline',
    summary: 'the seed’s S3 flow as one re-runnable command: ingest, train, upload, score',
    register: async (p, c) => (await import('./pipeline.js')).registerPipelineCommands(p, c),
  },
  {
    name: 'serve',
    summary: 'serve a model over HTTP: /predict_income, /predict, /metrics, /docs, /users',
    register: async (p, c) => (await import('./serve.js')).registerServeCommands(p, c),
  },
  {
    name: 'monitor',
    summary: 'watch a deployed model: drift of its inputs and output against its training profile',
    register: async (p, c) => (await import('./monitor.js')).registerMonitorCommands(p, c),
  },
  {
    name: 'report',
    summary: 'write a self-contained HTML report of a run or model, or compare runs',
    register: async (p, c) => (await import('./report.js')).registerReportCommands(p, c),
  },
];

/** The group a command line runs: its first argument that is not an option, if it names one. */
export function invokedGroup(args: readonly string[]): CommandGroup | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  return COMMAND_GROUPS.find((g) => g.name === first);
}

/**
 * Registers the invoked group for real and every other group as a one-line entry (name and
 * summary) for the top-level help and for "did you mean" suggestions. `all` registers every
 * group for real (tests and documentation walk the whole tree).
 */
export async function registerCommands(program: Command, context: CliContext, options: { all?: boolean } = {}): Promise<void> {
  const invoked = options.all === true ? undefined : invokedGroup(context.argv);
  for (const group of COMMAND_GROUPS) {
    if (options.all === true || group === invoked) await group.register(program, context);
    else program.command(group.name).description(group.summary).allowUnknownOption().allowExcessArguments();
  }
}
