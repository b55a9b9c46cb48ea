import { InvalidArgumentError, type Command } from 'commander';
import { UsageError, type MlctlError } from '../core/errors.js';
import type { ModelRegistry, RegisteredModel } from '../core/registry/model-registry.js';
import { withExamples, type CliContext } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { formatNumber, renderTable } from '../ui/table.js';

export interface ModelsRegisterOptions {
  readonly runId: string;
  readonly name: string;
  readonly description?: string;
}

async function openRegistry(context: CliContext): Promise<ModelRegistry> {
  const { openTracking } = await import('./shared/tracking.js');
  return (await openTracking(context)).registry;
}

/** `--expect <version>` or `--expect none` (the alias must be unset; commander turns a null into '', so 'none' stays a word here). */
function parseExpectation(value: string): number | 'none' {
  if (value === 'none') return 'none';
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`--expect must be a version number ≥ 1 or "none", got "${value}"`);
  return n;
}

/** Parses a version argument ("3"), naming the argument on failure. */
function parseVersion(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n < 1) {
    throw new UsageError('INVALID_MODEL_VERSION', `<version> must be a whole number ≥ 1, got "${value}"`);
  }
  return n;
}

/** The registered model `ref` names, or the error saying it is none (`ref` may be another model reference). */
async function registeredModel(registry: ModelRegistry, ref: string): Promise<RegisteredModel | MlctlError> {
  const { isMlctlError } = await import('../core/errors.js');
  try {
    return await registry.get(ref);
  } catch (error) {
    if (isMlctlError(error) && (error.code === 'MODEL_NOT_FOUND' || error.code === 'INVALID_MODEL_NAME')) return error;
    throw error;
  }
}

/** `models show <reference>`: the bundle a reference resolves to, with its input schema. */
async function showReference(ref: string, context: CliContext, output: Output): Promise<void> {
  const { resolveModel } = await import('./shared/model-resolution.js');
  const resolved = await resolveModel(ref, context);
  const inputs = await inputsOf(ref, context, resolved.bundleDir);
  const { manifest } = inputs;
  const summary = {
    ref,
    bundleDir: resolved.bundleDir,
    source: resolved.source,
    task: manifest.task.name,
    problemType: manifest.problemType,
    modelFamily: manifest.modelFamily,
    createdAt: manifest.createdAt,
    metrics: manifest.metrics,
    input: inputs.json,
  };
  const source = resolved.source;
  const from = source.kind === 'registry' ? `${source.name} version ${source.version} (run ${source.runId})` : source.kind === 'run' ? `run ${source.runId}` : source.uri ?? resolved.bundleDir;
  const metrics = Object.entries(manifest.metrics).map(([k, v]) => `${k} ${formatNumber(v, 4)}`).join(', ');
  const render = await inputs.render(output);
  output.result(summary, () =>
    [
      `${output.style('bold', ref)} → ${from}`,
      `  task       ${manifest.task.name} (${manifest.problemType}), model ${manifest.modelFamily}, trained ${formatTime(manifest.createdAt)}`,
      ...(metrics === '' ? [] : [`  metrics    ${metrics}`]),
      `  bundle     ${resolved.bundleDir}`,
      '',
      output.style('bold', 'Input schema'),
      render,
    ].join('\n'),
  );
}

/** How categories are listed in the table: the first ones, then a count. */
function listCategories(categories: readonly string[], width = 60): string {
  let text = '';
  for (const [i, category] of categories.entries()) {
    const next = text === '' ? category : `${text}, ${category}`;
    if (next.length > width && i > 0) return `${text} (+${categories.length - i} more)`;
    text = next;
  }
  return text;
}

/** The input fields of the bundle `ref` resolves to (or of `bundleDir`), as JSON and as a table. */
async function inputsOf(ref: string, context: CliContext, bundleDir?: string) {
  const [{ loadBundle }, { parsePipeline }, { describeInputFields }, { resolveModel }] = await Promise.all([
    import('../core/bundle/model-bundle.js'),
    import('../core/features/pipeline.js'),
    import('../core/bundle/input-fields.js'),
    import('./shared/model-resolution.js'),
  ]);
  const bundle = await loadBundle(bundleDir ?? (await resolveModel(ref, context)).bundleDir);
  const fields = describeInputFields(bundle.manifest.inputSchema ?? {}, parsePipeline(bundle.pipelineJson));
  return {
    manifest: bundle.manifest,
    json: { fields, schema: bundle.manifest.inputSchema },
    render: async (output: Output): Promise<string> =>
      renderTable({
        head: ['field', 'type', 'required', 'known values'],
        rows: fields.map((f) => [
          f.field,
          f.type,
          f.required ? 'yes' : f.imputedWith === undefined ? 'no: null is imputed' : `no: null → ${JSON.stringify(f.imputedWith)}`,
          f.categories !== undefined ? listCategories(f.categories) : f.trainingRange !== undefined ? `training range ${formatNumber(f.trainingRange.min, 4)} … ${formatNumber(f.trainingRange.max, 4)}` : '',
        ]),
        color: output.color,
      }),
  };
}

function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function registerModelsCommands(program: Command, context: CliContext): void {
  const models = program
    .command('models')
    .description('The model registry: named models, numbered versions of runs\' bundles, aliases such as production.');
  withExamples(models, 'mlctl models register 01a2b3c4d5e6 --name income', 'mlctl models alias set income production 1', 'mlctl predict --model income@production --json < rows.jsonl');

  const register = models
    .command('register')
    .description('Register a finished run\'s model bundle as the next version of a named model.')
    .argument('<run>', 'the run whose bundle (artifacts/model) to register: an id, id prefix or run name')
    .requiredOption('--name <name>', 'the model name, e.g. income')
    .option('--description <text>', 'what this version is')
    .action(async (runId: string, opts: { name: string; description?: string }, command: Command) => {
      const output = context.output(command);
      const options: ModelsRegisterOptions = { runId, name: opts.name, ...(opts.description === undefined ? {} : { description: opts.description }) };
      const registry = await openRegistry(context);
      const version = await registry.register(options);
      output.result({ name: options.name, ...version }, () => `Registered ${options.name} version ${version.version} (run ${version.runId}). Use it as ${options.name}/${version.version}.`);
    });
  withExamples(register, 'mlctl models register fair-bison-54 --name income', 'mlctl models register 01a22e7dae89 --name income --description "balanced class weights"');

  const list = models
    .command('list')
    .alias('ls')
    .description('List registered models with their latest version and aliases.')
    .action(async (_opts: unknown, command: Command) => {
      const output = context.output(command);
      const all = await (await openRegistry(context)).list();
      const table = output.json
        ? ''
        : await renderTable({
            head: ['name', 'versions', 'latest', 'aliases', 'updated'],
            rows: all.map((m) => [
              m.name,
              m.versions.length,
              m.versions.at(-1)?.version ?? '',
              Object.entries(m.aliases).map(([a, v]) => `${a}→${v}`).join(', '),
              formatTime(m.updatedTime),
            ]),
            alignRight: [1, 2],
            color: output.color,
          });
      output.result({ models: all }, () => (all.length === 0 ? 'No registered models. Register a run with `mlctl models register <run> --name <name>`, e.g. `mlctl models register fair-bison-54 --name income`.' : table));
    });
  withExamples(list, 'mlctl models list', 'mlctl models list --json');

  const show = models
    .command('show')
    .description(
      "Show a model. A registered name: its versions, aliases and history of changes. Any model reference: the bundle it resolves to. Both list the model's input schema: each field's type, whether it is required or imputed, its known categories or training range.",
    )
    .argument('<model>', 'a registered model name (income), or a model reference: income@production, income/2, a run id or name, a bundle path, s3://bucket/prefix')
    .action(async (ref: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const registry = await openRegistry(context);
      const model = await registeredModel(registry, ref);
      if (!('versions' in model)) {
        // Not a registered name: any other model reference, else the registry's answer.
        await showReference(ref, context, output).catch((error: unknown) => {
          throw (error as MlctlError).code === 'RUN_NOT_FOUND' && model.code === 'MODEL_NOT_FOUND' ? model : error;
        });
        return;
      }
      const audit = await registry.auditLog(model.name);
      const latest = model.versions.at(-1);
      // A bundle that cannot be read (damaged, say) does not hide the registry's own record.
      const inputs = latest === undefined ? undefined : await inputsOf(`${model.name}/${latest.version}`, context).catch((error: unknown) => error as Error);
      if (output.json) {
        const input = inputs === undefined ? {} : inputs instanceof Error ? { input: { error: inputs.message } } : { input: inputs.json };
        output.result({ ...model, audit, ...input }, () => '');
        return;
      }
      const aliasesOf = (version: number): string => Object.entries(model.aliases).filter(([, v]) => v === version).map(([a]) => a).join(', ');
      const versions = await renderTable({
        head: ['version', 'run', 'aliases', 'registered', 'by', 'description'],
        rows: model.versions.map((v) => [v.version, v.runId, aliasesOf(v.version), formatTime(v.createdTime), v.user, v.description ?? '']),
        alignRight: [0],
        color: output.color,
      });
      const history = audit.map((e) => {
        const what = e.action === 'register' ? `registered version ${e.version} from ${String(e.new)}`
          : e.action === 'alias-set' ? `alias ${e.alias}: ${e.old ?? '(none)'} → ${e.new}`
          : e.action === 'alias-delete' ? `alias ${e.alias}: ${e.old} → (deleted)`
          : `deleted version ${e.version} (${String(e.old)})`;
        return `  ${formatTime(e.time)}  ${e.user.padEnd(10)} ${what}`;
      });
      const schema =
        inputs === undefined
          ? []
          : ['', output.style('bold', `Input schema (version ${latest!.version})`), inputs instanceof Error ? `  unavailable: ${inputs.message}` : await inputs.render(output)];
      output.result(null, () =>
        [
          `${output.style('bold', model.name)}${model.description === null ? '' : `  ${model.description}`}`,
          versions,
          ...schema,
          '',
          output.style('bold', 'History'),
          ...(history.length === 0 ? ['  (none)'] : history),
        ].join('\n'),
      );
    });
  withExamples(show, 'mlctl models show income', 'mlctl models show income@production', 'mlctl models show fair-bison-54 --json');

  const alias = models.command('alias').description('Point aliases (production, champion, …) at versions.');
  withExamples(alias, 'mlctl models alias set income production 3', 'mlctl models alias delete income production', 'mlctl predict --model income@production --input people.csv');
  const aliasSet = alias
    .command('set')
    .description('Point an alias at a version (moving it if it pointed elsewhere).')
    .argument('<name>', 'the model name')
    .argument('<alias>', 'e.g. production')
    .argument('<version>', 'the version number')
    .option('--expect <version>', 'move it only if it still points at this version ("none": only if unset); otherwise exit 4 and change nothing', parseExpectation)
    .action(async (name: string, aliasName: string, versionText: string, opts: { expect?: number | 'none' }, command: Command) => {
      const output = context.output(command);
      const version = parseVersion(versionText);
      const expectation = opts.expect === undefined ? {} : { expect: opts.expect === 'none' ? null : opts.expect };
      const { previous } = await (await openRegistry(context)).setAlias(name, aliasName, version, expectation);
      output.result({ name, alias: aliasName, version, previous }, () => `${name}@${aliasName}: ${previous ?? '(none)'} → ${version}`);
    });
  withExamples(aliasSet, 'mlctl models alias set income production 3', 'mlctl models alias set income production 7 --expect 6   # refused (exit 4) if someone moved it meanwhile');

  const aliasDelete = alias
    .command('delete')
    .description('Remove an alias.')
    .argument('<name>', 'the model name')
    .argument('<alias>', 'the alias')
    .action(async (name: string, aliasName: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const { previous } = await (await openRegistry(context)).deleteAlias(name, aliasName);
      output.result({ name, alias: aliasName, previous }, () => `${name}@${aliasName}: ${previous} → (deleted)`);
    });
  withExamples(aliasDelete, 'mlctl models alias delete income production');

  const deleteVersion = models
    .command('delete-version')
    .description('Delete a version from the registry (its run stays). Refused while an alias points at it.')
    .argument('<name>', 'the model name')
    .argument('<version>', 'the version number')
    .action(async (name: string, versionText: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const removed = await (await openRegistry(context)).deleteVersion(name, parseVersion(versionText));
      output.result({ name, deleted: removed }, () => `Deleted ${name} version ${removed.version} (run ${removed.runId} is kept).`);
    });
  withExamples(deleteVersion, 'mlctl models delete-version income 2');

  const resolve = models
    .command('resolve')
    .description('Show which bundle a model reference resolves to (run id or name, name@alias, name/N, models:/…, path); a bundle kept remotely is downloaded and verified first.')
    .argument('<ref>', 'a model reference')
    .action(async (ref: string, _opts: unknown, command: Command) => {
      const output = context.output(command);
      const { resolveModel } = await import('./shared/model-resolution.js');
      const resolved = await resolveModel(ref, context);
      output.result(resolved, () => `${ref} → ${resolved.bundleDir}`);
    });
  withExamples(resolve, 'mlctl models resolve income@production', 'mlctl models resolve models:/income/2 --json');
}
