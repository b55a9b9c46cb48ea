/**
 * Data at scale (issue 18), end to end on generated files big enough that reading one whole
 * does not fit the heap the CLI is given (--max-old-space-size), yet quick to write and read.
 * No timings are asserted: the benchmark (bench/data-scale) measures those.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROWS = 2_000_000;
/** A heap far below the file's size: only a streaming reader fits. */
const SMALL_HEAP = { NODE_OPTIONS: '--max-old-space-size=32' };

let work: string;
let big: string;

/** Rows `id,group,value,flag`: an increasing id, 37 groups, values 0 … 100,002 / 7, yes/no. */
function writeRows(path: string, rows: number, badLineAt?: number): void {
  const fd = openSync(path, 'w');
  let chunk = 'id,group,value,flag\n';
  for (let i = 0; i < rows; i++) {
    chunk += i + 2 === badLineAt ? `${i},g${i % 37}\n` : `${i},g${i % 37},${((i * 7919) % 100_003) / 7},${i % 3 === 0 ? 'yes' : 'no'}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mlctl-e2e-scale-'));
  big = join(work, 'big.csv');
  writeRows(big, ROWS);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('data describe on a file larger than the heap', () => {
  it('cannot be read whole under that heap (the control)', () => {
    const whole = spawnSync(process.execPath, ['--max-old-space-size=32', '-e', `require('fs').readFileSync(${JSON.stringify(big)}, 'utf8').split('\\n')`], { encoding: 'utf8' });
    expect(whole.status).not.toBe(0);
  });

  it('streams it: exact counts and means, estimates marked approximate', async () => {
    const result = await runCli(['data', 'describe', 'big.csv', '--json'], { cwd: work, env: SMALL_HEAP });
    expect(result.code, result.stderr).toBe(0);
    const description = JSON.parse(result.stdout) as { rows: number; columns: { name: string; kind: string; missing: number; distinct: number; mean?: number; min?: number; max?: number; approximate?: string[] }[] };
    expect(description.rows).toBe(ROWS);
    const [id, group, value, flag] = description.columns;
    expect(id).toMatchObject({ kind: 'id-like', distinct: ROWS, min: 0, max: ROWS - 1, mean: (ROWS - 1) / 2 });
    expect(group).toMatchObject({ kind: 'categorical', distinct: 37, missing: 0 });
    expect(group!.approximate).toBeUndefined();
    expect(value!.approximate).toContain('quartiles');
    expect(flag).toMatchObject({ kind: 'boolean', distinct: 2 });
    // Nothing animated or partial reaches a pipe.
    expect(result.stderr).toBe('');
  });

  it('names a malformed line deep in the file (exit 2), or skips it with --on-bad-line skip and says so', async () => {
    const bad = join(work, 'bad.csv');
    writeRows(bad, 300_000, 299_000);
    const refused = await runCli(['data', 'describe', 'bad.csv'], { cwd: work, env: SMALL_HEAP });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('line 299000: expected 4 fields, found 2');
    const skipped = await runCli(['data', 'describe', 'bad.csv', '--on-bad-line', 'skip', '--json'], { cwd: work, env: SMALL_HEAP });
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ rows: 299_999, badLines: { count: 1, lines: [299_000] } });
    expect(skipped.stderr).toContain('1 line with the wrong number of fields skipped (line 299000)');
  });
});
