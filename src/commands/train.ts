import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';
import { getModelFamily, listModelFamilies } from '../core/models/model-families.js';
import { flagOf, parseParamText, type ParamSpec, type ParamValue } from '../core/models/model-params.js';
import type { TaskOverrides } from '../core/tasks/task-registry.js';
import { PROBLEM_TYPE_CHOICES, problemTypeOf, type TaskFlags } from './shared/task-source.js';
import type { TrainTaskResult } from '../core/training/train-task.js';
import type { Output } from '../ui/output.js';
import { formatDuration, formatNumber, renderTable } from '../ui/table.js';

export interface TrainCommandOptions extends TaskFlags {
  readonly experiment?: string;
  readonly name?: string;
  readonly backend?: string;
  readonly gates: boolean;
  readonly printTask: boolean;
  readonly tags: Record<string, string>;
  readonly overrides: TaskOverrides;
  /** Hyper-parameter → the flag that set it, so a range error names the flag. */
  readonly paramFlags: Readonly<Record<string, string>>;
}

function collectTag(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--tag expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** One hyper-parameter flag, declared by one or more families (the same name means the same parameter). */
interface ParamFlag {
  readonly flag: string;
  readonly param: string;
  readonly spec: ParamSpec;
  readonly families: string[];
}

/** The train flags every family declares, by flag. */
function paramFlags(): Map<string, ParamFlag> {
  const flags = new Map<string, ParamFlag>();
  for (const family of listModelFamilies()) {
    for (const [param, spec] of Object.entries(family.params)) {
      const flag = flagOf(param, spec);
      if (flag === undefined) continue;
      const known = flags.get(flag);
      if (known === undefined) flags.set(flag, { flag, param, spec, families: [family.name] });
      else known.families.push(family.name);
    }
  }
  return flags;
}

/** The commander option for a hyper-parameter flag: its text parsed as the parameter's type. */
function paramOption(entry: ParamFlag): Option {
  const families = `(${entry.families.join(', ')})`;
  if (entry.spec.type === 'boolean') return new Option(entry.flag, `${entry.flag.startsWith('--no-') ? 'do not ' : ''}${entry.spec.description} ${families}`);
  const valueName = entry.spec.type === 'int-list' ? '<sizes>' : entry.spec.type === 'choice' ? '<name>' : entry.spec.type === 'int' ? '<n>' : '<x>';
  const option = new Option(`${entry.flag} ${valueName}`, `${entry.spec.description} ${families}`);
  if (entry.spec.type === 'choice') return option.choices([...entry.spec.choices]);
  return option.argParser((text: string) => {
    try {
      return parseParamText(entry.spec, text);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  });
}

export function registerTrainCommands(program: Command, context: CliContext): void {
  const families = listModelFamilies();
  const hyperParameters = paramFlags();
  const command = program
    .command('train')
    .description('train a task end to end: data → preprocessing → model → evaluation → a recorded run and model bundle')
    .argument('[task]', 'a built-in task (income, housing); or use --config, or --data and --target')
    .option('-c, --config <file>', 'a task file (JSON, schemas/task.schema.json; {"data": "file.csv", "target": "col"} is enough, the rest is inferred)')
    .option('--data <path|url>', "train on this CSV (with --target: no task file needed), or instead of the task's dataset (s3:// works with S3 configured)")
    .option('--target <column>', 'the column to predict in --data (every other setting is inferred and shown)')
    .addOption(new Option('--problem-type <type>', 'override the inferred problem type').choices([...PROBLEM_TYPE_CHOICES]))
    .option('--experiment <name>', 'experiment to record the run in (default: the task name)')
    .option('--name <run-name>', 'a readable run name (default: generated)')
    .addOption(new Option('--model <family>', `model family, with its defaults: ${families.map((f) => `${f.name} (${f.description})`).join('; ')}`).choices(families.map((f) => f.name)))
    .option('--log-target', 'regression: fit on log1p(target), predict in the target’s units')
    .option('--seed <n>', 'seed for splits, initial weights and shuffling (reproducible on one backend)', parseIntFlag('--seed'))
    .option('--validation <fraction>', 'fraction of training rows held out for early stopping', parseFloatFlag('--validation'))
    .addOption(
      new Option('--backend <name>', `compute backend for families that have one (mlp: TensorFlow.js node, else wasm, else cpu; or MLCTL_TF_BACKEND)`).choices([
        ...new Set(families.flatMap((f) => f.backends)),
      ]),
    )
    .option('--tag <key=value>', 'tag the run (repeatable)', collectTag, {})
    .option('--no-gates', "do not fail (exit 4) when the task's quality gates are not met")
    .option('--print-task', 'print the resolved task definition as JSON and exit');
  for (const entry of hyperParameters.values()) command.addOption(paramOption(entry));
  withExamples(
    command,
    'mlctl train income',
    'mlctl train income --epochs 10 --hidden-layers 128,64 --seed 7',
    'mlctl train housing --json | jq .evaluation.metrics',
    'mlctl train --data houses.csv --target price',
    'mlctl train --config my-task.json',
    'mlctl train --data flowers.csv --target species --print-task > task.json',
  );
  command.action(async (taskName: string | undefined, flags: Record<string, unknown>, cmd: Command) => {
    // Hyper-parameters the user typed (a --no-flag's default is not a choice).
    const params: Record<string, ParamValue> = {};
    const flagOfParam: Record<string, string> = {};
    for (const entry of hyperParameters.values()) {
      const key = entry.spec.type === 'boolean' ? entry.param : camel(entry.flag);
      if (cmd.getOptionValueSource(key) !== 'cli') continue;
      params[entry.param] = flags[key] as ParamValue;
      flagOfParam[entry.param] = entry.flag;
    }
    const options: TrainCommandOptions = {
      ...(taskName === undefined ? {} : { task: taskName }),
      ...(typeof flags.config === 'string' ? { config: flags.config } : {}),
      ...(typeof flags.experiment === 'string' ? { experiment: flags.experiment } : {}),
      ...(typeof flags.name === 'string' ? { name: flags.name } : {}),
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.target === 'string' ? { target: flags.target } : {}),
      ...(typeof flags.problemType === 'string' ? { problemType: problemTypeOf(flags.problemType) } : {}),
      ...(typeof flags.backend === 'string' ? { backend: flags.backend } : context.config.tfBackend === undefined ? {} : { backend: context.config.tfBackend }),
      gates: flags.gates !== false,
      printTask: flags.printTask === true,
      tags: (flags.tag as Record<string, string> | undefined) ?? {},
      paramFlags: flagOfParam,
      overrides: {
        ...(typeof flags.model === 'string' ? { family: flags.model } : {}),
        params,
        ...(flags.seed === undefined ? {} : { seed: flags.seed as number }),
        ...(flags.validation === undefined ? {} : { validation: flags.validation as number }),
        ...(flags.logTarget === true ? { logTarget: true } : {}),
      },
    };
    await runTrain(options, context, context.output(cmd));
  });
}

/** Commander's key for a flag: --max-leaves → maxLeaves. */
function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

async function runTrain(options: TrainCommandOptions, context: CliContext, output: Output): Promise<void> {
  const { UsageError } = await import('../core/errors.js');
  const [{ applyOverrides }, { resolveTaskFlags, showNotes }] = await Promise.all([import('../core/tasks/task-registry.js'), import('./shared/task-source.js')]);
  const source = await resolveTaskFlags(options, context, 'train');
  const base = source.task;
  showNotes(source.notes, (m) => output.info(m));
  // Every hyper-parameter is checked here, before any data is read; a problem names the flag.
  const family = getModelFamily(options.overrides.family ?? base.model.family);
  const foreign = Object.entries(options.paramFlags).filter(([param]) => !(param in family.params));
  if (foreign.length > 0) {
    const owners = (param: string) => listModelFamilies().filter((f) => param in f.params).map((f) => f.name);
    throw new UsageError('TRAIN_FLAG_OTHER_FAMILY', `${foreign.map(([, flag]) => flag).join(', ')} ${foreign.length === 1 ? 'does' : 'do'} not apply to the ${family.name} model family`, {
      problems: foreign.map(([param, flag]) => `${flag} is a setting of ${owners(param).join(', ')}`),
      hint: `choose another family with --model ${owners(foreign[0]![0]).join('|')}, or see the ${family.name} settings in \`mlctl train --help\``,
    });
  }
  const task = applyOverrides(base, options.overrides, { describeParam: (param) => options.paramFlags[param] ?? `model.params.${param}` });
  if (options.printTask) {
    output.result(task, () => JSON.stringify(task, null, 2));
    return;
  }
  const [{ trainTask }, { openTracking }, { gitCommit }, { datasetStoreOptions }] = await Promise.all([
    import('../core/training/train-task.js'),
    import('./shared/tracking.js'),
    import('../core/env/git-info.js'),
    import('./shared/data-location.js'),
  ]);
  const runStore = await openTracking(context);
  const location = source.location;
  const progress = await output.progress(`training ${task.name}`);
  let result: TrainTaskResult;
  try {
    result = await trainTask({
      task,
      runStore,
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
        output.debug(`run ${run.id} (${run.name}) in ${run.location}`);
        progress.update(`run ${run.name}: loading data`);
      },
      onDroppedRows: (d) =>
        output.warn(`${d.file}: ${d.count.toLocaleString('en-US')} row${d.count === 1 ? '' : 's'} without a usable ${task.target.column} left out (line${d.lines.length === 1 ? '' : 's'} ${d.lines.join(', ')}${d.count > d.lines.length ? ', …' : ''}); "onMissingTarget": "error" refuses them instead`),
      onPhase: (phase, ms) => {
        output.debug(`${phase}: ${formatDuration(ms)}`);
        if (phase === 'load') progress.update('preprocessing');
        if (phase === 'preprocess') progress.update('fitting the model');
        if (phase === 'fit') progress.update('evaluating on the test set');
      },
      onIteration: (report) => {
        const m = report.metrics;
        const parts = [`${report.unit} ${String(report.iteration).padStart(String(report.iterations).length)}/${report.iterations}`];
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

/** "1 epoch", "13 epochs". */
function count(n: number, unit: string): string {
  return `${n.toLocaleString('en-US')} ${unit}${n === 1 ? '' : 's'}`;
}

/** A command that predicts the first test row with the new run, pasteable as printed. */
function predictHint(result: TrainTaskResult): string {
  if (result.exampleRecord === null) return `mlctl predict --model ${result.run.id} --input <records.jsonl>`;
  const json = JSON.stringify(result.exampleRecord).replaceAll("'", "'\\''");
  return `echo '${json}' | mlctl predict --model ${result.run.id}`;
}

export async function renderTrainResult(result: TrainTaskResult, output: Output): Promise<void> {
  const lines: string[] = [];
  const it = result.model.iterations;
  lines.push(
    `${output.style('green', '✓')} trained ${output.style('bold', result.task)} → run ${output.style('bold', result.run.id)} (${result.run.name})`,
    `  rows: ${result.rows.train.toLocaleString('en-US')} train, ${result.rows.validation.toLocaleString('en-US')} validation, ${result.rows.test.toLocaleString('en-US')} test (${result.testSource === 'file' ? 'official test file' : 'held out'})`,
    `  features: ${result.pipeline.featuresIn} in → ${result.pipeline.featuresOut} out; model ${result.modelFamily} on ${result.backend}` +
      (it === undefined ? '' : `; ${count(it.run, it.unit)}, best ${it.best}${it.stoppedEarly ? ' (stopped early)' : ''}`),
    ...result.model.facts.map((f) => `  ${f.label}: ${f.value}`),
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
  const classes = result.evaluation.classes;
  if (classes !== undefined) {
    lines.push(
      '',
      await renderTable({
        head: ['class', 'precision', 'recall', 'f1', 'support'],
        rows: classes.perClass.map((k) => [k.label, formatNumber(k.precision, 4), formatNumber(k.recall, 4), formatNumber(k.f1, 4), k.support]),
        alignRight: [1, 2, 3, 4],
        color: output.color,
      }),
      '',
      await renderTable({
        head: ['actual \\ predicted', ...classes.labels],
        rows: classes.confusion.map((row, i) => [classes.labels[i]!, ...row]),
        alignRight: classes.labels.map((_, i) => i + 1),
        color: output.color,
      }),
    );
  }
  const weights = result.model.featureWeights;
  if (weights !== undefined && weights.values.length > 0) {
    const rows: (string | number)[][] = weights.values.map((w) => [w.feature, formatNumber(w.value, 4)]);
    if (weights.intercept !== undefined) rows.unshift(['(intercept)', formatNumber(weights.intercept, 4)]);
    lines.push('', await renderTable({ head: ['feature', weights.label], rows, alignRight: [1], color: output.color }));
  }
  lines.push('', `bundle: ${result.bundleUri}`, `predict: ${predictHint(result)}`);
  output.print(lines.join('\n'));
}
