import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { parseFloatFlag, withExamples } from '../ui/context.js';
import { formatNumber, renderTable } from '../ui/table.js';

export interface EvaluateCommandOptions {
  readonly model: string;
  readonly data?: string;
  readonly threshold?: number;
  readonly backend?: string;
}

export function registerEvaluateCommands(program: Command, context: CliContext): void {
  const command = program
    .command('evaluate')
    .description("evaluate a model bundle on labelled rows: its task's test set, or any labelled CSV")
    .argument('<model-ref>', 'run id, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix')
    .option('--data <csv>', 'a labelled CSV (header row, or the dataset’s own format) instead of the test set')
    .option('--threshold <p>', 'classification threshold', parseFloatFlag('--threshold'))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['node', 'wasm', 'cpu']));
  withExamples(command, 'mlctl evaluate <run-id>', 'mlctl evaluate income@production --data new-census.csv --json');
  command.action(async (modelRef: string, flags: Record<string, unknown>, cmd: Command) => {
    const options: EvaluateCommandOptions = {
      model: modelRef,
      ...(typeof flags.data === 'string' ? { data: flags.data } : {}),
      ...(typeof flags.threshold === 'number' ? { threshold: flags.threshold } : {}),
      ...(typeof flags.backend === 'string' ? { backend: flags.backend } : context.config.tfBackend === undefined ? {} : { backend: context.config.tfBackend }),
    };
    const output = context.output(cmd);
    const [{ resolveModel, createUnseenReporter }, { loadPredictor }, { evaluateModel }, { resolveDataLocation }] = await Promise.all([
      import('./shared/model-resolution.js'),
      import('../core/predict/predictor.js'),
      import('../core/training/evaluate-model.js'),
      import('./shared/data-location.js'),
    ]);
    const resolved = await resolveModel(options.model, context);
    const predictor = await loadPredictor(resolved.bundleDir, options.backend === undefined ? {} : { backend: options.backend });
    const location = await resolveDataLocation(options.data, context);
    const unseen = createUnseenReporter((m) => output.debug(m));
    const evaluation = await evaluateModel(predictor, {
      ...(location.dataPath === undefined ? {} : { dataPath: location.dataPath }),
      data: {
        dataDir: context.config.dataDir,
        ...(context.config.dataMirror === undefined ? {} : { mirror: context.config.dataMirror }),
        ...(location.openRemote === undefined ? {} : { openRemote: location.openRemote }),
        signal: context.signal,
      },
      ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
      onUnseen: unseen.onUnseen,
    });
    predictor.dispose();
    const result = {
      model: { ref: options.model, bundleDir: resolved.bundleDir, ...resolved.source, task: predictor.manifest.task.name },
      data: evaluation.source,
      rows: evaluation.rows,
      metrics: evaluation.metrics,
      ...(evaluation.confusion === undefined ? {} : { confusion: evaluation.confusion, threshold: evaluation.threshold }),
    };
    if (output.json) {
      output.result(result, () => '');
      return;
    }
    const lines = [`${predictor.manifest.task.name} model ${options.model} on ${evaluation.source} (${evaluation.rows.toLocaleString('en-US')} rows)`, ''];
    lines.push(
      await renderTable({
        head: ['metric', 'value'],
        rows: Object.entries(evaluation.metrics).map(([k, v]) => [k, formatNumber(v, 4)]),
        alignRight: [1],
        color: output.color,
      }),
    );
    const c = evaluation.confusion;
    if (c !== undefined) {
      lines.push(
        '',
        await renderTable({
          head: [`confusion @ ${evaluation.threshold}`, 'predicted −', 'predicted +'],
          rows: [
            ['actual −', c.tn, c.fp],
            ['actual +', c.fn, c.tp],
          ],
          alignRight: [1, 2],
          color: output.color,
        }),
      );
    }
    output.print(lines.join('\n'));
  });
}
