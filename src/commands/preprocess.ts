import type { Command } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';
import { formatNumber, renderTable } from '../ui/table.js';
import type { TaskFlags } from './shared/task-source.js';

export interface PreprocessCommandOptions extends TaskFlags {
  readonly seed?: number;
  readonly validation?: number;
  readonly out?: string;
}

export function registerPreprocessCommands(program: Command, context: CliContext): void {
  const command = program
    .command('preprocess')
    .description("fit a task's preprocessing pipeline on its training rows and write the transformed sets")
    .argument('[task]', 'a built-in task (income, housing); or use --config')
    .option('-c, --config <file>', 'a task file (JSON)')
    .option('--data <path|url>', "a CSV instead of the task's dataset (with --target: no task file needed)")
    .option('--target <column>', 'the column to predict in --data (the rest is inferred)')
    .option('--seed <n>', 'seed of the validation split', parseIntFlag('--seed'))
    .option('--validation <fraction>', 'fraction of training rows held out for validation', parseFloatFlag('--validation'))
    .option('-o, --out <dir>', 'output folder (default: <data dir>/processed/<task>)');
  withExamples(command, 'mlctl preprocess income', 'mlctl preprocess income --seed 7 --json | jq .summary.featuresOut');
  command.action(async (taskName: string | undefined, flags: Record<string, unknown>, cmd: Command) => {
    const options: PreprocessCommandOptions = {
      ...(taskName === undefined ? {} : { task: taskName }),
      ...(typeof flags.config === 'string' ? { config: flags.config } : {}),
      ...(typeof flags.seed === 'number' ? { seed: flags.seed } : {}),
      ...(typeof flags.validation === 'number' ? { validation: flags.validation } : {}),
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.target === 'string' ? { target: flags.target } : {}),
      ...(typeof flags.out === 'string' ? { out: flags.out } : {}),
    };
    const output = context.output(cmd);
    const [tasks, { resolveTaskFlags, showNotes }, { loadTaskData }, { prepareSets }, { writeProcessedSets }, { datasetStoreOptions }, { join, resolve }] = await Promise.all([
      import('../core/tasks/task-registry.js'),
      import('./shared/task-source.js'),
      import('../core/training/task-data.js'),
      import('../core/training/prepare-sets.js'),
      import('../core/training/processed-sets.js'),
      import('./shared/data-location.js'),
      import('node:path'),
    ]);
    const source = await resolveTaskFlags(options, context, 'preprocess');
    showNotes(source.notes, (m) => output.info(m));
    const task = tasks.applyOverrides(source.task, {
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.validation === undefined ? {} : { validation: options.validation }),
    });
    const location = source.location;
    const progress = await output.progress(`preprocessing ${task.name}`);
    try {
      const data = await loadTaskData(task, { ...datasetStoreOptions(context), ...location });
      const sets = prepareSets(task, data);
      const dir = options.out === undefined ? join(context.config.dataDir, 'processed', task.name) : resolve(context.config.cwd, options.out);
      const written = await writeProcessedSets(dir, task, sets);
      progress.stop();
      const result = { task: task.name, dir, rows: written.rows, files: written.files, unseenInTest: sets.unseenInTest, summary: written.summary };
      if (output.json) {
        output.result(result, () => '');
        return;
      }
      const s = written.summary;
      const lines = [
        `${output.style('green', '✓')} ${task.name}: fitted on ${written.rows.train.toLocaleString('en-US')} training rows; ${s.featuresIn} columns in → ${s.featuresOut} features out`,
        `  rows: ${written.rows.train.toLocaleString('en-US')} train, ${written.rows.validation.toLocaleString('en-US')} validation, ${written.rows.test.toLocaleString('en-US')} test` +
          (sets.unseenInTest > 0 ? ` (${sets.unseenInTest} unseen test categories, handled by their policy)` : ''),
        '',
        await renderTable({
          head: ['column', 'type', 'steps', 'out', 'imputed', 'fitted'],
          rows: s.columns.map((c) => [
            c.column,
            c.type,
            c.steps.join(' → '),
            c.outputs,
            c.imputed,
            c.categories !== undefined
              ? `${c.categories.length} categories, unseen: ${c.unseen}`
              : c.mean !== undefined
                ? `mean ${formatNumber(c.mean, 3)}, std ${formatNumber(c.std, 3)}`
                : c.impute !== undefined
                  ? `fill ${c.impute.value}`
                  : '',
          ]),
          alignRight: [3, 4],
          color: output.color,
        }),
        '',
        `wrote ${written.files.map((f) => f.name).join(', ')} to ${dir}`,
      ];
      output.print(lines.join('\n'));
    } catch (error) {
      progress.fail('preprocessing failed');
      throw error;
    }
  });
}
