import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, createWorkspace, runCli } from '../helpers/cli.js';

/**
 * The GitHub workflow and the Dockerfile cannot run here; these tests read them and check
 * what would break first: missing steps, mlctl commands or flags that do not exist, a root
 * container, no health check. Commands are checked against the built CLI's own --help.
 */

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}

interface Workflow {
  on: unknown;
  env?: Record<string, string>;
  jobs: Record<string, { 'runs-on': string; steps: Step[]; defaults?: { run?: { shell?: string } } }>;
}

const workflowText = readFileSync(join(REPO_ROOT, '.github/workflows/mlctl.yml'), 'utf8');
const workflow = parse(workflowText) as Workflow;
const jobs = Object.values(workflow.jobs);
const steps = jobs.flatMap((j) => j.steps);
const scripts = steps.map((s) => s.run ?? '').join('\n');

/** Each `mlctl …` invocation in the run scripts, as argv words up to the first shell operator. */
function mlctlInvocations(script: string): string[][] {
  const out: string[][] = [];
  for (const rawLine of script.split('\n')) {
    const line = rawLine.replace(/#.*$/, '');
    for (const match of line.matchAll(/(?:^|[\s;&|(])mlctl\s+([^|;&>]*)/g)) {
      const words = (match[1] ?? '').match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
      out.push(words.map((w) => w.replace(/^["']|["']$/g, '')));
    }
  }
  return out;
}

const ws = createWorkspace('mlctl-ci-assets-');
afterAll(() => ws.cleanup());
const helpCache = new Map<string, { code: number | null; text: string }>();
async function help(path: readonly string[]): Promise<{ code: number | null; text: string }> {
  const key = path.join(' ');
  const cached = helpCache.get(key);
  if (cached !== undefined) return cached;
  const r = await runCli([...path, '--help'], { cwd: ws.dir, env: ws.env });
  const value = { code: r.code, text: r.stdout };
  helpCache.set(key, value);
  return value;
}

/** Splits an invocation into its command path (as far as the CLI knows subcommands) and the rest. */
async function commandPath(words: readonly string[]): Promise<{ path: string[]; rest: string[] }> {
  const path: string[] = [];
  let i = 0;
  while (i < words.length && !words[i]!.startsWith('-')) {
    const candidate = words[i]!;
    const parent = await help(path);
    // A subcommand is listed in the parent's "Commands:" block.
    const commands = parent.text.split(/^Commands:$/m)[1] ?? '';
    if (!new RegExp(`^\\s+${candidate.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'm').test(commands)) break;
    path.push(candidate);
    i++;
  }
  return { path, rest: words.slice(i) };
}

describe('.github/workflows/mlctl.yml', () => {
  beforeAll(() => {
    expect(existsSync(join(REPO_ROOT, 'dist', 'cli.js')), 'build first: npm run build').toBe(true);
  });

  it('runs on pushes and pull requests, on Node 20, with bash (pipefail) as the shell', () => {
    const on = workflow.on as Record<string, unknown>;
    expect(Object.keys(on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    const setupNode = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(String(setupNode?.with?.['node-version'])).toBe('20');
    // Without pipefail, `mlctl evaluate … | tee` would hide a failed gate.
    for (const job of jobs) expect(job.defaults?.run?.shell).toBe('bash');
  });

  it('has the steps in order: checkout, install, test, train income, gate, report, upload', () => {
    const index = (predicate: (s: Step) => boolean): number => steps.findIndex(predicate);
    const checkout = index((s) => s.uses?.startsWith('actions/checkout@') === true);
    const install = index((s) => /\bnpm ci\b/.test(s.run ?? ''));
    const test = index((s) => /\bnpm test\b/.test(s.run ?? ''));
    const train = index((s) => /\bmlctl train income\b/.test(s.run ?? ''));
    const gate = index((s) => /\bmlctl evaluate\b.*--fail-under/.test(s.run ?? ''));
    const report = index((s) => /\bmlctl report\b/.test(s.run ?? ''));
    const upload = index((s) => s.uses?.startsWith('actions/upload-artifact@') === true);
    for (const [name, i] of Object.entries({ checkout, install, test, train, gate, report, upload })) expect(i, name).toBeGreaterThanOrEqual(0);
    expect([checkout, install, test, train, gate, report, upload]).toEqual([...[checkout, install, test, train, gate, report, upload]].sort((a, b) => a - b));
  });

  it('gates on thresholds and still uploads the report when the gate fails', () => {
    expect(workflow.env?.MLCTL_FAIL_UNDER).toMatch(/^(\w+=[\d.]+)(,\w+=[\d.]+)*$/);
    const report = steps.find((s) => /\bmlctl report\b/.test(s.run ?? ''))!;
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(report.if).toMatch(/always\(\)/);
    expect(upload.if).toMatch(/always\(\)/);
    const reportOut = /--out\s+(\S+)/.exec(report.run ?? '')?.[1];
    expect(reportOut).toBeDefined();
    expect(String(upload.with?.path)).toContain(reportOut);
  });

  it('calls only mlctl commands and flags that exist', async () => {
    const invocations = mlctlInvocations(scripts);
    expect(invocations.length).toBeGreaterThanOrEqual(4);
    const problems: string[] = [];
    const paths = new Set<string>();
    for (const words of invocations) {
      const { path, rest } = await commandPath(words);
      paths.add(path.join(' '));
      if (path.length === 0) {
        problems.push(`mlctl ${words.join(' ')}: no such command`);
        continue;
      }
      const h = await help(path);
      if (h.code !== 0) problems.push(`mlctl ${path.join(' ')} --help exited ${h.code}`);
      // A group (runs, models…) needs a subcommand; a leaf lists no "Commands:".
      if (/^Commands:$/m.test(h.text)) problems.push(`mlctl ${words.join(' ')}: "${path.join(' ')}" is a group, not a command`);
      for (const word of rest) {
        if (!word.startsWith('--')) continue;
        const flag = word.split('=')[0]!;
        const globalFlag = ['--json', '--quiet', '--verbose', '--no-color', '--help'].includes(flag);
        if (!globalFlag && !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(h.text)) problems.push(`mlctl ${path.join(' ')}: unknown flag ${flag}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...paths]).toEqual(expect.arrayContaining(['data pull', 'train', 'evaluate', 'report']));
  });

  it('the checker itself catches a made-up command and flag', async () => {
    const [bogus] = mlctlInvocations('mlctl evaluate x --no-such-flag 1 | tee out');
    const { path, rest } = await commandPath(bogus!);
    expect(path).toEqual(['evaluate']);
    expect(rest).toContain('--no-such-flag');
    expect((await help(path)).text).not.toMatch(/--no-such-flag/);
    const unknown = await commandPath(['frobnicate', 'income']);
    expect(unknown.path).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  // Join continuation lines, drop comments: one instruction per entry.
  const instructions = text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [keyword = '', ...rest] = l.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
  const stages = instructions.filter((i) => i.keyword === 'FROM');
  const lastStageStart = instructions.lastIndexOf(stages[stages.length - 1]!);
  const runtime = instructions.slice(lastStageStart);

  it('is multi-stage: the runtime copies its build from an earlier named stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.map((s) => /\bAS\s+(\S+)/i.exec(s.args)?.[1]).filter((n): n is string => n !== undefined);
    const copiesFrom = runtime.filter((i) => i.keyword === 'COPY').map((i) => /--from=(\S+)/.exec(i.args)?.[1]);
    expect(copiesFrom.some((from) => from !== undefined && names.slice(0, -1).includes(from))).toBe(true);
    // The compiler and dev dependencies stay behind.
    expect(runtime.some((i) => i.keyword === 'RUN' && /npm (ci|install)\b/.test(i.args))).toBe(false);
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((i) => i.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.args.split(':')[0]!;
    expect(['root', '0', '']).not.toContain(user);
    // USER comes before the entrypoint runs anything.
    expect(runtime.indexOf(users[users.length - 1]!)).toBeLessThan(runtime.findIndex((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD'));
  });

  it('exposes 8500, checks /health on it and serves by default', () => {
    expect(runtime.some((i) => i.keyword === 'EXPOSE' && /\b8500\b/.test(i.args))).toBe(true);
    const health = runtime.find((i) => i.keyword === 'HEALTHCHECK');
    expect(health?.args).toMatch(/127\.0\.0\.1:8500\/health|localhost:8500\/health/);
    const entry = runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '';
    const cmd = runtime.find((i) => i.keyword === 'CMD')?.args ?? '';
    expect(JSON.parse(entry) as string[]).toEqual(['node', '/app/bin/mlctl']);
    const args = JSON.parse(cmd) as string[];
    expect(args[0]).toBe('serve');
    // Bound to all interfaces, or the published port reaches nothing.
    expect(args.join(' ')).toMatch(/--host 0\.0\.0\.0/);
  });

  it('the default CMD uses flags `mlctl serve` has', async () => {
    const cmd = JSON.parse(runtime.find((i) => i.keyword === 'CMD')!.args) as string[];
    const h = await help(['serve']);
    expect(h.code).toBe(0);
    for (const flag of cmd.filter((w) => w.startsWith('--'))) expect(h.text, flag).toContain(flag);
  });

  it('has a .dockerignore that keeps local state and secrets out of the build context', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'runs', 'data', '.env', '.git']) expect(ignore, entry).toContain(entry);
  });
});
