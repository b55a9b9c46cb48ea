import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MLCTL_BIN, REPO_ROOT } from '../helpers/cli.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Static imports (not `import type`, not dynamic `await import()`). */
function staticImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)) out.push(m[1] as string);
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) out.push(m[1] as string);
  return out;
}

const SRC = join(REPO_ROOT, 'src');
const HEAVY = [/^@tensorflow\//, /^@aws-sdk\//, /^kysely/, /^better-sqlite3/, /^ml-regression/, /^csv-parse/, /^ora$/, /^cli-table3$/];

describe('layering (DESIGN.md)', () => {
  it('core never imports the CLI libraries, reads process.env or exits', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(SRC, 'core'))) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(REPO_ROOT, file);
      for (const spec of staticImports(text)) if (/^(commander|ora|cli-table3)$/.test(spec)) offenders.push(`${rel} imports ${spec}`);
      if (/import\(\s*'(commander|ora|cli-table3)'\s*\)/.test(text)) offenders.push(`${rel} imports a CLI library dynamically`);
      if (/process\.env\b/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) offenders.push(`${rel} reads process.env`);
      if (/process\.exit\s*\(/.test(text)) offenders.push(`${rel} calls process.exit`);
    }
    expect(offenders).toEqual([]);
  });

  it('nothing the CLI edge or a command group imports statically pulls in a heavy package', () => {
    // Walk the static import graph from src/cli.ts and from each command file (a group's
    // module is what start-up loads when that group runs): command files may import light
    // core modules (errors, field rules) but nothing whose closure reaches a heavy package.
    const offenders: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string, chain: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of staticImports(readFileSync(file, 'utf8'))) {
        if (HEAVY.some((re) => re.test(spec))) offenders.push(`${[...chain, relative(REPO_ROOT, file)].join(' → ')} imports ${spec}`);
        if (spec.startsWith('.')) visit(join(file, '..', spec.replace(/\.js$/, '.ts')), [...chain, relative(REPO_ROOT, file)]);
      }
    };
    visit(join(SRC, 'cli.ts'), []);
    for (const file of sourceFiles(join(SRC, 'commands'))) visit(file, []);
    expect(seen.size).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });

  it('`mlctl --help` and `mlctl data list` load neither TensorFlow.js, the AWS SDK nor kysely', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlctl-imports-'));
    try {
      for (const args of [['--help'], ['data', 'list']]) {
        const trace = join(dir, `${args.join('-')}.txt`);
        const r = spawnSync(process.execPath, ['--import', join(REPO_ROOT, 'test/helpers/import-tracer.mjs'), MLCTL_BIN, ...args], {
          cwd: dir,
          env: { ...process.env, MLCTL_TRACE_IMPORTS: trace, MLCTL_DATA_DIR: join(dir, 'data') },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        const loaded = readFileSync(trace, 'utf8').split('\n');
        expect(loaded.some((u) => u.endsWith('/bin/load-bundle.cjs')), 'the tracer saw the launcher load').toBe(true);
        const heavy = loaded.filter((u) => /node_modules\/(@tensorflow|@aws-sdk|kysely|better-sqlite3)\//.test(u));
        expect(heavy, `${args.join(' ')} loaded heavy modules`).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
