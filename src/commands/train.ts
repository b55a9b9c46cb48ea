import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';
import type { TaskOverrides } from '../core/tasks/task-registry.js';
import type { TrainTaskResult } from '../core/training/train-task.js';
import type { Output } from '../ui/output.js';
import { formatDuration, formatNumber, renderTable } from '../ui/table.js';

export interface TrainCommandOptions {
  readonly task?: string;
  readonly config?: string;
  readonly experiment?: string;
  readonly name?: string;
  readonly data?: string;
  readonly backend?: string;
  readonly gates: boolean;
  readonly printTask: boolean;
  readonly tags: Record<string, string>;
  readonly overrides: TaskOverrides;
}

function parseLayers(value: string): number[] {
  const layers = value.split(',').map((v) => Number(v.trim()));
  if (layers.length === 0 || layers.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new InvalidArgumentError(`--hidden-layers must be positive whole numbers separated by commas, e.g. 64,32 (got "${value}")`);
  }
  return layers;
}

function collectTag(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--tag expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function registerTrainCommands(program: Command, context: CliContext): void {
  const command = program
    .command('train')
    .description('train a task end to end: data → preprocessing → model → evaluation → a recorded run and model bundle')
    .argument('[task]', 'a built-in task (income, housing); or use --config')
    .option('-c, --config <file>', 'a task file (JSON, the TaskSpec shape; "extends": "income" to tweak a built-in task)')
    .option('--experiment <name>', 'experiment to record the run in (default: the task name)')
    .option('--name <run-name>', 'a readable run name (default: generated)')
    .option('--data <path|url>', "train on this CSV instead of the task's dataset (s3:// works with S3 configured)")
    .option('--epochs <n>', 'maximum epochs (MLP)', parseIntFlag('--epochs'))
    .option('--batch-size <n>', 'mini-batch size (MLP)', parseIntFlag('--batch-size'))
    .option('--learning-rate <x>', 'optimizer learning rate (MLP)', parseFloatFlag('--learning-rate'))
    .option('--hidden-layers <sizes>', 'hidden layer sizes, e.g. 64,32 (MLP)', parseLayers)
    .addOption(new Option('--activation <fn>', 'hidden activation (MLP)').choices(['relu', 'tanh', 'elu', 'sigmoid']))
    .option('--dropout <rate>', 'dropout after each hidden layer, 0 to disable (MLP)', parseFloatFlag('--dropout'))
    .addOption(new Option('--optimizer <name>', 'optimizer (MLP)').choices(['adam', 'sgd', 'rmsprop', 'adagrad']))
    .option('--patience <n>', 'early stopping: epochs without val_loss improvement (0: off); best weights restored', parseIntFlag('--patience'))
    .addOption(new Option('--class-weight <mode>', 'class weights (MLP)').choices(['none', 'balanced']))
    .option('--l2 <x>', 'L2 weight penalty (MLP)', parseFloatFlag('--l2'))
    .option('--no-intercept', 'fit without an intercept (linear)')
    .option('--log-target', 'regression: fit on log1p(target), predict in the target’s units')
    .option('--seed <n>', 'seed for splits, initial weights and shuffling (reproducible on one backend)', parseIntFlag('--seed'))
    .option('--validation <fraction>', 'fraction of training rows held out for early stopping', parseFloatFlag('--validation'))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: node, else wasm, else cpu; or MLCTL_TF_BACKEND)').choices(['node', 'wasm', 'cpu']))
    .option('--tag <key=value>', 'tag the run (repeatable)', collectTag, {})
    .option('--no-gates', "do not fail (exit 4) when the task's quality gates are not met")
    .option('--print-task', 'print the resolved task definition as JSON and exit');
  withExamples(
    command,
    'mlctl train income',
    'mlctl train income --epochs 10 --hidden-layers 128,64 --seed 7',
    'mlctl train housing --json | jq .evaluation.metrics',
    'mlctl train --config my-task.json',
  );
  command.action(async (taskName: string | undefined, flags: Record<string, unknown>, cmd: Command) => {
    const options: TrainCommandOptions = {
      ...(taskName === undefined ? {} : { task: taskName }),
      ...(typeof flags.config === 'string' ? { config: flags.config } : {}),
      ...(typeof flags.experiment === 'string' ? { experiment: flags.experiment } : {}),
      ...(typeof flags.name === 'string' ? { name: flags.name } : {}),
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.backend === 'string' ? { backend: flags.backend } : context.config.tfBackend === undefined ? {} : { backend: context.config.tfBackend }),
      gates: flags.gates !== false,
      printTask: flags.printTask === true,
      tags: (flags.tag as Record<string, string> | undefined) ?? {},
      overrides: {
        mlp: {
          epochs: flags.epochs as number | undefined,
          batchSize: flags.batchSize as number | undefined,
          learningRate: flags.learningRate as number | undefined,
          hiddenLayers: flags.hiddenLayers as number[] | undefined,
          activation: flags.activation as 'relu' | undefined,
          dropout: flags.dropout as number | undefined,
          optimizer: flags.optimizer as 'adam' | undefined,
          patience: flags.patience as number | undefined,
          classWeight: flags.classWeight as 'none' | undefined,
          l2: flags.l2 as number | undefined,
        },
        linear: { intercept: flags.intercept === false ? false : undefined },
        ...(flags.seed === undefined ? {} : { seed: flags.seed as number }),
        ...(flags.validation === undefined ? {} : { validation: flags.validation as number }),
        ...(flags.logTarget === true ? { logTarget: true } : {}),
      },
    };
    await runTrain(options, context, context.output(cmd));
  });
}

async function runTrain(options: TrainCommandOptions, context: CliContext, output: Output): Promise<void> {
  const { UsageError } = await import('../core/errors.js');
  const { getTask, loadTaskFile, applyOverrides } = await import('../core/tasks/task-registry.js');
  if (options.task === undefined && options.config === undefined) {
    throw new UsageError('TRAIN_NO_TASK', 'name a task to train (mlctl train income) or pass --config <task.json>');
  }
  const base = options.config !== undefined ? await loadTaskFile(options.config) : getTask(options.task as string);
  const task = applyOverrides(base, options.overrides);
  if (options.printTask) {
    output.result(task, () => JSON.stringify(task, null, 2));
    return;
  }
  const [{ trainTask }, { createFileRunStore }, { gitCommit }, { resolveDataLocation, datasetStoreOptions }] = await Promise.all([
    import('../core/training/train-task.js'),
    import('../core/tracking/file-run-store.js'),
    import('../core/env/git-info.js'),
    import('./shared/data-location.js'),
  ]);
  const location = await resolveDataLocation(options.data, context);
  const progress = await output.progress(`training ${task.name}`);
  let result: TrainTaskResult;
  try {
    result = await trainTask({
      task,
      runStore: createFileRunStore({ root: context.config.runsDir }),
      ...(options.experiment === undefined ? {} : { experiment: options.experiment }),
      ...(options.name === undefined ? {} : { runName: options.name }),
      commandLine: ['mlctl', ...context.argv].join(' '),
      gitCommit: await gitCommit(context.config.cwd),
      mlctlVersion: context.version,
      data: { ...datasetStoreOptions(context), ...location },
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      tags: options.tags,
      signal: context.signal,
      onRunCreated: (run) => {
        output.debug(`run ${run.id} (${run.name}) in ${run.dir}`);
        progress.update(`run ${run.name}: loading data`);
      },
      onPhase: (phase, ms) => {
        output.debug(`${phase}: ${formatDuration(ms)}`);
        if (phase === 'load') progress.update('preprocessing');
        if (phase === 'preprocess') progress.update('fitting the model');
        if (phase === 'fit') progress.update('evaluating on the test set');
      },
      onEpoch: (report) => {
        const m = report.metrics;
        const parts = [`epoch ${String(report.epoch).padStart(String(report.epochs).length)}/${report.epochs}`];
        for (const key of ['train_loss', 'val_loss', 'val_accuracy', 'val_auc']) if (m[key] !== undefined) parts.push(`${key} ${formatNumber(m[key], 4)}`);
        parts.push(`ETA ${formatDuration(report.etaMs)}`);
        if (output.interactive) {
          progress.stop();
          output.info(parts.join('  '));
        } else {
          output.debug(parts.join('  '));
        }
      },
    });
  } catch (error) {
    progress.fail('training failed');
    throw error;
  }
  progress.stop();
  const failed = result.gates.filter((g) => !g.passed);
  const gateFailure = options.gates && failed.length > 0;
  // With --json a failed gate prints one document: the error, carrying the result as details.
  if (output.json && !gateFailure) output.result(result, () => '');
  else if (!output.json) await renderTrainResult(result, output);
  if (gateFailure) {
    const { GateError } = await import('../core/errors.js');
    throw new GateError('QUALITY_GATE_FAILED', `run ${result.run.id} finished but missed ${failed.length} quality gate${failed.length === 1 ? '' : 's'}`, {
      problems: failed.map((g) => `${g.metric} = ${formatNumber(g.value, 4)}, needs ${g.min !== undefined ? `>= ${g.min}` : ''}${g.max !== undefined ? ` <= ${g.max}` : ''}`),
      hint: 'the run and its bundle are recorded; pass --no-gates to exit 0 anyway',
      details: { result },
    });
  }
}

export async function renderTrainResult(result: TrainTaskResult, output: Output): Promise<void> {
  const lines: string[] = [];
  lines.push(
    `${output.style('green', '✓')} trained ${output.style('bold', result.task)} → run ${output.style('bold', result.run.id)} (${result.run.name})`,
    `  rows: ${result.rows.train.toLocaleString('en-US')} train, ${result.rows.validation.toLocaleString('en-US')} validation, ${result.rows.test.toLocaleString('en-US')} test (${result.testSource === 'file' ? 'official test file' : 'held out'})`,
    `  features: ${result.pipeline.featuresIn} in → ${result.pipeline.featuresOut} out; model ${result.modelFamily} on ${result.backend}` +
      (result.modelFamily === 'mlp' ? `; ${result.epochsRun} epochs, best ${result.bestEpoch}${result.stoppedEarly ? ' (stopped early)' : ''}` : ''),
    `  time: load ${formatDuration(result.timings.load)}, preprocess ${formatDuration(result.timings.preprocess)}, fit ${formatDuration(result.timings.fit)}, evaluate ${formatDuration(result.timings.evaluate)}, save ${formatDuration(result.timings.save)}`,
    '',
  );
  const gateFor = (metric: string) => result.gates.find((g) => g.metric === metric);
  lines.push(
    await renderTable({
      head: ['metric (test)', 'value', 'gate'],
      rows: Object.entries(result.evaluation.metrics).map(([k, v]) => {
        const gate = gateFor(k);
        return [k, formatNumber(v, 4), gate === undefined ? '' : `${gate.passed ? '✓' : '✗'} ${gate.min !== undefined ? `≥ ${gate.min}` : `≤ ${gate.max}`}`];
      }),
      alignRight: [1],
      color: output.color,
    }),
  );
  const c = result.evaluation.confusion;
  if (c !== undefined) {
    lines.push(
      '',
      await renderTable({
        head: ['confusion', 'predicted −', 'predicted +'],
        rows: [
          ['actual −', c.tn, c.fp],
          ['actual +', c.fn, c.tp],
        ],
        alignRight: [1, 2],
        color: output.color,
      }),
    );
  }
  const coefficients = (result.model as { coefficients?: { feature: string; value: number }[] }).coefficients;
  if (coefficients !== undefined) {
    lines.push('', await renderTable({ head: ['feature', 'coefficient'], rows: coefficients.map((c2) => [c2.feature, formatNumber(c2.value, 4)]), alignRight: [1], color: output.color }));
  }
  lines.push('', `bundle: ${result.bundleDir}`, `predict: mlctl predict --model ${result.run.id} --input rows.jsonl`);
  output.print(lines.join('\n'));
}
