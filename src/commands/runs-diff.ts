import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliContext } from '../ui/context.js';
import { withExamples } from '../ui/context.js';
import type { Output } from '../ui/output.js';
import { formatNumber, renderTable } from '../ui/table.js';
import type { RunDiff } from '../core/report/run-diff.js';

export type RunsDiffFormat = 'table' | 'md' | 'json';

export interface RunsDiffOptions {
  /** The baseline run (id, unambiguous prefix or name). */
  readonly a: string;
  /** The run compared with it. */
  readonly b: string;
  readonly format: RunsDiffFormat;
  /** Show every param, not only those that differ. */
  readonly all: boolean;
}

/**
 * `mlctl runs diff <a> <b>`: added under the `runs` group (created here if another part has
 * not registered it yet). Params and final metrics of B against A, with change and percentage.
 */
export function registerRunsDiffCommand(program: Command, context: CliContext): void {
  const runs = program.commands.find((c) => c.name() === 'runs') ?? program.command('runs').description('Query and maintain tracked runs.');
  const command = runs
    .command('diff')
    .description('Params and final metrics of run B against run A, with change and percentage.')
    .argument('<a>', 'the baseline run: an id, an unambiguous id prefix or a run name')
    .argument('<b>', 'the run compared with the baseline (id, prefix or name)')
    .addOption(new Option('--format <format>', 'table, md (Markdown) or json (same as --json)').choices(['table', 'md', 'json']).default('table'))
    .option('--all', 'list every param, not only those that differ');
  withExamples(
    command,
    'mlctl runs diff 01a2098f 01a20991',
    'mlctl runs diff fair-bison-54 keen-shrew-40 --format md >> "$GITHUB_STEP_SUMMARY"',
    'mlctl runs diff 01a2098f 01a20991 --json',
  );
  command.action(async (a: string, b: string, flags: Record<string, unknown>, cmd: Command) => {
    const options: RunsDiffOptions = { a, b, format: (flags.format as RunsDiffFormat | undefined) ?? 'table', all: flags.all === true };
    const output = context.output(cmd);
    const [{ openTracking }, { diffRuns }] = await Promise.all([import('./shared/tracking.js'), import('../core/report/run-diff.js')]);
    const store = await openTracking(context);
    const [ra, rb] = await Promise.all([store.getRun(options.a), store.getRun(options.b)]);
    const diff = diffRuns(
      { id: ra.info.id, name: ra.info.name, params: ra.params, metrics: ra.metrics },
      { id: rb.info.id, name: rb.info.name, params: rb.params, metrics: rb.metrics },
    );
    if (output.json || options.format === 'json') {
      context.streams.stdout.write(`${JSON.stringify(diff, null, 2)}\n`);
      return;
    }
    if (options.format === 'md') {
      const { markdownTable } = await import('../core/report/markdown.js');
      output.print(renderMarkdown(diff, options, markdownTable));
      return;
    }
    output.print(await renderHuman(diff, options, output));
  });
}

function value(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return formatNumber(v, 4);
  return v === null ? 'null' : String(v);
}

function change(v: number | null): string {
  if (v === null) return '—';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${formatNumber(Math.abs(v), 4)}`;
}

function percent(v: number | null): string {
  if (v === null) return '—';
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(2)}%`;
}

function paramRows(diff: RunDiff, all: boolean): string[][] {
  // Params read as logged (0.002, not 0.0020): they are settings, not measurements.
  const raw = (v: unknown): string => (v === undefined ? '—' : String(v));
  return diff.params.filter((p) => all || p.changed).map((p) => [p.key, raw(p.a), raw(p.b), p.changed ? 'changed' : '']);
}

function metricRows(diff: RunDiff): string[][] {
  return diff.metrics.map((m) => [m.key, value(m.a ?? undefined), value(m.b ?? undefined), change(m.change), percent(m.percent), m.verdict === 'n/a' || m.verdict === 'same' ? '' : m.verdict]);
}

function runLabel(run: { id: string; name?: string }): string {
  return run.name === undefined || run.name === '' ? run.id : `${run.id} (${run.name})`;
}

async function renderHuman(diff: RunDiff, options: RunsDiffOptions, output: Output): Promise<string> {
  const lines = [`A ${runLabel(diff.a)}`, `B ${runLabel(diff.b)}`, ''];
  const params = paramRows(diff, options.all);
  if (params.length === 0) lines.push('params: identical');
  else lines.push(await renderTable({ head: ['param', 'A', 'B', ''], rows: params, color: output.color }));
  lines.push('');
  if (diff.metrics.length === 0) lines.push('metrics: none logged');
  else {
    const rows = metricRows(diff).map((r) => {
      const verdict = r[5];
      return [...r.slice(0, 5), verdict === 'better' ? output.style('green', verdict) : verdict === 'worse' ? output.style('red', verdict ?? '') : (verdict ?? '')];
    });
    lines.push(await renderTable({ head: ['metric', 'A', 'B', 'change', '%', 'B is'], rows, alignRight: [1, 2, 3, 4], color: output.color }));
  }
  return lines.join('\n');
}

function renderMarkdown(diff: RunDiff, options: RunsDiffOptions, markdownTable: typeof import('../core/report/markdown.js').markdownTable): string {
  const params = paramRows(diff, options.all);
  return [
    `### mlctl runs diff`,
    '',
    `A: \`${runLabel(diff.a)}\` · B: \`${runLabel(diff.b)}\``,
    '',
    '#### Metrics',
    '',
    diff.metrics.length === 0 ? '_none logged_' : markdownTable(['metric', 'A', 'B', 'change', '%', 'B is'], metricRows(diff), [1, 2, 3, 4]),
    '',
    '#### Params',
    '',
    params.length === 0 ? '_identical_' : markdownTable(['param', 'A', 'B', ''], params),
    '',
  ].join('\n');
}
