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

  it('the CLI edge and command files import nothing heavy at start-up', () => {
    const files = [join(SRC, 'cli.ts'), join(SRC, 'config.ts'), ...sourceFiles(join(SRC, 'commands')), ...sourceFiles(join(SRC, 'ui'))];
    const offenders: string[] = [];
    for (const file of files) {
      for (const spec of staticImports(readFileSync(file, 'utf8'))) {
        if (HEAVY.some((re) => re.test(spec))) offenders.push(`${relative(REPO_ROOT, file)} imports ${spec} at the top`);
        if (spec.startsWith('../core/') || spec.startsWith('../../core/')) {
          // Command files may statically import only light core modules (errors, types).
          if (!/core\/errors\.js$/.test(spec)) offenders.push(`${relative(REPO_ROOT, file)} statically imports ${spec}`);
        }
      }
    }
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
        expect(loaded.some((u) => u.includes('/dist/cli.js')), 'the tracer saw the CLI load').toBe(true);
        const heavy = loaded.filter((u) => /node_modules\/(@tensorflow|@aws-sdk|kysely|better-sqlite3)\//.test(u));
        expect(heavy, `${args.join(' ')} loaded heavy modules`).toEqual([]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
