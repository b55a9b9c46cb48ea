import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { POSITIVE_COUNT_RANGE, parseIntFlag, withExamples } from '../ui/context.js';
import { formatNumber, readingLine, renderTable } from '../ui/table.js';

export interface PredictCommandOptions {
  readonly model: string;
  readonly input?: string;
  /** Where a CSV input's answers go, streamed (.csv, else JSON lines). */
  readonly output?: string;
  readonly onBadLine: 'error' | 'skip';
  readonly user?: number;
  readonly backend?: string;
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export function registerPredictCommands(program: Command, context: CliContext): void {
  const command = program
    .command('predict')
    .description('predict with a model bundle, from a file, stdin (JSON object, array or JSON lines) or a stored user')
    .requiredOption('-m, --model <ref>', 'a run id or name, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix')
    .option('-i, --input <file>', 'records to score: .csv, .json or .jsonl (default: stdin)')
    .option('-o, --output <file>', 'with a CSV --input: stream the answers into this file (.csv: one row per input row; else JSON lines), in input order and constant memory; written whole or not at all')
    .addOption(new Option('--on-bad-line <policy>', 'a CSV line with the wrong number of fields: error (stop, naming the line) or skip (leave it out, counted)').choices(['error', 'skip']).default('error'))
    .option('--user <id>', 'predict for a user stored in the database (mlctl db users)', parseIntFlag('--user', POSITIVE_COUNT_RANGE))
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['node', 'wasm', 'cpu']));
  withExamples(
    command,
    `echo '{"age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education_num": 13, "marital_status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White", "sex": "Male", "capital_gain": 2174, "capital_loss": 0, "hours_per_week": 40, "native_country": "United-States"}' | mlctl predict --model income@production --json`,
    'mlctl predict --model income@production --input people.csv',
    'mlctl predict --model income@production --input big.csv --output predictions.csv',
    'mlctl predict --model runs:/01a22e7dae891172f41a --user 42 --json',
  );
  command.action(async (flags: Record<string, unknown>, cmd: Command) => {
    const options: PredictCommandOptions = {
      model: flags.model as string,
      ...(typeof flags.input === 'string' ? { input: flags.input } : {}),
      ...(typeof flags.output === 'string' ? { output: flags.output } : {}),
      onBadLine: flags.onBadLine === 'skip' ? 'skip' : 'error',
      ...(typeof flags.user === 'number' ? { user: flags.user } : {}),
      ...(typeof flags.backend === 'string' ? { backend: flags.backend } : context.config.tfBackend === undefined ? {} : { backend: context.config.tfBackend }),
    };
    const output = context.output(cmd);
    const { UsageError } = await import('../core/errors.js');
    if (options.input !== undefined && options.user !== undefined) throw new UsageError('PREDICT_TWO_INPUTS', 'give either --input or --user, not both');
    const [{ resolveModel, createUnseenReporter }, { loadPredictor }, inputs] = await Promise.all([
      import('./shared/model-resolution.js'),
      import('../core/predict/predictor.js'),
      import('../core/predict/input-records.js'),
    ]);
    if (options.user === undefined && options.input === undefined && process.stdin.isTTY === true) {
      throw new UsageError('PREDICT_NO_INPUT', 'no input: pipe JSON records into mlctl predict, or pass --input <file> or --user <id>');
    }
    if (options.output !== undefined && !(options.input ?? '').toLowerCase().endsWith('.csv')) {
      throw new UsageError('PREDICT_OUTPUT_NEEDS_CSV', '--output streams the answers of a CSV file: give --input <file.csv>', { hint: 'without --output, answers go to stdout (JSON lines with --json)' });
    }
    const resolved = await resolveModel(options.model, context);
    const predictor = await loadPredictor(resolved.bundleDir, { reference: options.model, ...(options.backend === undefined ? {} : { backend: options.backend }) });
    if (options.output !== undefined && options.input !== undefined) {
      await predictToFile(context, output, predictor, { ...options, input: options.input, output: options.output }, createUnseenReporter);
      return;
    }
    let records: Record<string, unknown>[];
    // A CSV has no types: its reader reads a code column (zip, year) as numbers, so those are read back as their spelling.
    let fromCsv = false;
    if (options.user !== undefined) {
      records = [await loadUserRecord(options.user, context)];
    } else if (options.input !== undefined) {
      // A CSV is read with the missing markers the model was trained with.
      const missing = predictor.manifest.task.missing;
      records = await inputs.readRecordsFile(options.input, missing === undefined ? {} : { missing });
      fromCsv = options.input.toLowerCase().endsWith('.csv');
    } else {
      records = inputs.requireObjects(inputs.parseJsonRecords(await readStdin(process.stdin), 'stdin'), 'stdin');
    }
    const unseen = createUnseenReporter((m) => output.warn(m));
    const predictions = await predictor.predict(records, { onUnseen: unseen.onUnseen, numbersForStrings: fromCsv ? 'spell' : 'refuse' });
    // Unseen categories are summarised by the reporter below; numbers outside the training range are listed here.
    const outOfRange = predictions.flatMap((p, i) => (p.warnings ?? []).filter((w) => w.kind === 'out-of-range').map((w) => `record ${i + 1}, field "${w.field}": ${w.message}`));
    for (const line of outOfRange.slice(0, 20)) output.warn(line);
    if (outOfRange.length > 20) output.warn(`… and ${outOfRange.length - 20} more values outside the training range`);
    unseen.flush((column) => {
      const col = predictor.pipeline.columns.find((c) => c.column === column);
      const step = col?.steps.find((s) => s.kind === 'one-hot');
      return step?.kind === 'one-hot' ? step.unseen : undefined;
    });
    predictor.dispose();
    if (output.json) {
      for (const p of predictions) output.jsonLine(p);
      return;
    }
    const meaning = predictor.meaning;
    const classification = meaning.classification;
    // Multiclass: the probability of every class, one column each.
    const classes = meaning.description.kind === 'class-probabilities' ? meaning.labels : [];
    const hasId = predictions.some((p) => p.id !== undefined);
    const head = [...(hasId ? ['id'] : ['#']), ...(classes.length > 0 ? ['label', ...classes.map((c) => `p(${c})`)] : classification ? ['label', 'probability'] : ['prediction'])];
    const rows = predictions.map((p, i) => [
      hasId ? (p.id ?? '') : i + 1,
      ...('prediction' in p
        ? [formatNumber(p.prediction, 2)]
        : 'probabilities' in p
          ? [p.label, ...classes.map((c) => formatNumber(p.probabilities[c], 4))]
          : [p.label, formatNumber(p.probability, 4)]),
    ]);
    const numeric = classes.length > 0 ? classes.map((_, k) => k + 2) : classification ? [2] : [1];
    output.print(await renderTable({ head, rows, alignRight: numeric, color: output.color }));
  });
}

/** --input x.csv --output y: streamed through predictCsvFile, with progress on a TTY and the warnings of predict. */
async function predictToFile(
  context: CliContext,
  output: ReturnType<CliContext['output']>,
  predictor: import('../core/predict/predictor.js').Predictor,
  options: PredictCommandOptions & { readonly input: string; readonly output: string },
  createUnseenReporter: typeof import('./shared/model-resolution.js').createUnseenReporter,
): Promise<void> {
  const [{ resolve }, { predictCsvFile }] = await Promise.all([import('node:path'), import('../core/predict/predict-file.js')]);
  const unseen = createUnseenReporter((m) => output.warn(m), { unit: 'line', numberOf: (row) => row });
  let outOfRange = 0;
  const progress = await output.progress(`predicting ${options.input}`);
  const started = performance.now();
  const missing = predictor.manifest.task.missing;
  let result;
  try {
    result = await predictCsvFile(predictor, {
      input: resolve(context.config.cwd, options.input),
      output: resolve(context.config.cwd, options.output),
      onBadLine: options.onBadLine,
      signal: context.signal,
      ...(missing === undefined ? {} : { missing }),
      onUnseen: unseen.onUnseen,
      onWarning: (where, warning) => {
        if (outOfRange++ < 20) output.warn(`${where}, field "${warning.field}": ${warning.message}`);
      },
      onProgress: (read, total, rows) => progress.update(readingLine(options.input, read, total, rows, performance.now() - started)),
    });
  } finally {
    progress.stop();
    predictor.dispose();
  }
  if (outOfRange > 20) output.warn(`… and ${outOfRange - 20} more values outside the training range`);
  unseen.flush((column) => {
    const col = predictor.pipeline.columns.find((c) => c.column === column);
    const step = col?.steps.find((s) => s.kind === 'one-hot');
    return step?.kind === 'one-hot' ? step.unseen : undefined;
  });
  if (result.badLines !== null) {
    const { describeBadLines } = await import('../core/datasets/bad-lines.js');
    output.warn(describeBadLines(options.input, result.badLines));
  }
  output.result({ rows: result.rows, output: options.output, format: result.format, ...(result.badLines === null ? {} : { badLines: result.badLines }) }, () => `wrote ${formatNumber(result.rows)} predictions to ${options.output}`);
}

/** A stored user's census attributes, as a prediction record (`id` = the user id). */
async function loadUserRecord(id: number, context: CliContext): Promise<Record<string, unknown>> {
  const [{ withDatabase }, { getUser, userAttributes }, { assertMigrated }, { MIGRATIONS }] = await Promise.all([
    import('../core/db/create-database.js'),
    import('../core/db/users-repository.js'),
    import('../core/db/migrator.js'),
    import('../core/db/migrations/index.js'),
  ]);
  // An absent or unmigrated database is a clear exit 3 / 2, never a stray empty file.
  const attributes = await withDatabase(
    context.config.databaseUrl,
    context.config.cwd,
    async (database) => {
      await assertMigrated(database, MIGRATIONS);
      return userAttributes(await getUser(database.db, id));
    },
    { mustExist: true },
  );
  return { ...attributes, id };
}
