import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { withExamples } from '../ui/context.js';
import { PROBLEM_TYPE_CHOICES, problemTypeOf, type TaskFlags } from './shared/task-source.js';

export interface TaskInitOptions extends TaskFlags {
  /** Where to write the task; stdout when absent. */
  readonly out?: string;
  readonly force: boolean;
}

export function registerTaskCommands(program: Command, context: CliContext): void {
  const task = program.command('task').description('write and check task files: infer one from a CSV (task init), validate one');
  withExamples(task, 'mlctl task init --data houses.csv --target price --out houses.task.json', 'mlctl task validate houses.task.json');

  withExamples(
    task
      .command('init')
      .description('infer a complete task from a CSV and its target column, and write it out (every key filled in) to edit')
      .option('--data <path|url>', 'the CSV to learn from')
      .option('--target <column>', 'the column to predict')
      .addOption(new Option('--problem-type <type>', 'override the inferred problem type').choices([...PROBLEM_TYPE_CHOICES]))
      .option('-c, --config <file>', 'start from this (partial) task file instead of --data/--target')
      .option('-o, --out <file>', 'write the task here (default: stdout); its data path is written relative to it')
      .option('--force', 'overwrite --out when it exists')
      .action(async (flags: Record<string, unknown>, cmd: Command) => {
        const options: TaskInitOptions = {
          ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
          ...(typeof flags.target === 'string' ? { target: flags.target } : {}),
          ...(typeof flags.problemType === 'string' ? { problemType: problemTypeOf(flags.problemType) } : {}),
          ...(typeof flags.config === 'string' ? { config: flags.config } : {}),
          ...(typeof flags.out === 'string' ? { out: flags.out } : {}),
          force: flags.force === true,
        };
        await runTaskInit(options, context, cmd);
      }),
    'mlctl task init --data houses.csv --target price --out houses.task.json',
    'mlctl task init --data flowers.csv --target species --problem-type multiclass',
    'mlctl task init --config minimal.json --out full.json',
  );

  withExamples(
    task
      .command('validate')
      .description('check a task file against schemas/task.schema.json and the data it names (exit 2 with every problem, by line)')
      .argument('<file>', 'the task file')
      .action(async (file: string, _flags: unknown, cmd: Command) => {
        const output = context.output(cmd);
        const { resolveTaskFlags, showNotes } = await import('./shared/task-source.js');
        const source = await resolveTaskFlags({ config: file }, context, 'task validate');
        showNotes(source.notes, (m) => output.info(m));
        output.result({ file, valid: true, task: source.task }, () => `${file}: valid (task ${source.task.name}, ${source.task.problemType}, ${source.task.features.columns.length} features, model ${source.task.model.family})`);
      }),
    'mlctl task validate my-task.json',
  );
}

async function runTaskInit(options: TaskInitOptions, context: CliContext, cmd: Command): Promise<void> {
  const output = context.output(cmd);
  const [{ resolveTaskFlags, showNotes }, { UsageError }, { existsSync }, { writeFileAtomic }, path] = await Promise.all([
    import('./shared/task-source.js'),
    import('../core/errors.js'),
    import('node:fs'),
    import('../core/fs/atomic.js'),
    import('node:path'),
  ]);
  const source = await resolveTaskFlags(options, context, 'task init');
  showNotes(source.notes, (m) => output.info(m));
  const { dataset, ...rest } = source.task;
  const out = options.out === undefined ? undefined : path.resolve(context.config.cwd, options.out);
  // A path is written relative to the task file, which is how it is read back.
  const isUrl = /^(s3|https?):\/\//i.test(dataset);
  const { isBuiltinDataset } = await import('../core/datasets/dataset-registry.js');
  const builtin = isBuiltinDataset(dataset) && !path.isAbsolute(dataset);
  const where = isUrl || builtin ? dataset : out === undefined ? path.relative(context.config.cwd, dataset) || dataset : path.relative(path.dirname(out), dataset);
  const document = { ...(builtin ? { dataset: where } : { data: where.split(path.sep).join('/') }), ...rest };
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (out === undefined) {
    output.result(document, () => text.trimEnd());
    return;
  }
  if (existsSync(out) && !options.force) throw new UsageError('TASK_INIT_EXISTS', `${options.out} already exists; pass --force to overwrite it`);
  await writeFileAtomic(out, text);
  output.result({ out, task: document }, () => `wrote ${options.out}: task ${source.task.name} (${source.task.problemType}, ${source.task.features.columns.length} features, model ${source.task.model.family}); train it with mlctl train --config ${options.out}`);
}
