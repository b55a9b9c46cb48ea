import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

// `npm run bench` runs every benchmark in bench/ and prints one JSON document keyed by name.
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('npm scripts and the benchmarks', () => {
  it('every node script an npm script names exists', () => {
    const files = Object.values(pkg.scripts).flatMap((script) => [...script.matchAll(/\bnode\s+(\S+\.m?[jt]s)\b/g)].map((m) => m[1]!));
    expect(files).toContain('bench/run-all.mjs');
    for (const file of files) expect(existsSync(join(REPO_ROOT, file)), file).toBe(true);
  });

  it('bench/run-all prints one document keyed by benchmark, and says which name is unknown', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bench', 'run-all.mjs'), '--quick', '--only', 'tracking-logging'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { benchmark: string; quick: boolean; failed: string[]; results: Record<string, { benchmark?: string; pointsPerSecondMedian?: number }> };
    expect(doc).toMatchObject({ benchmark: 'run-all', quick: true, failed: [] });
    expect(Object.keys(doc.results)).toEqual(['tracking-logging']);
    expect(doc.results['tracking-logging']!.benchmark).toBe('tracking-logging');
    expect(doc.results['tracking-logging']!.pointsPerSecondMedian).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/^bench: tracking-logging… done in /m);
    const unknown = spawnSync(process.execPath, [join(REPO_ROOT, 'bench', 'run-all.mjs'), '--only', 'no-such-bench'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no benchmark named no-such-bench');
  });
});
