/**
 * Data at scale (issue 18), end to end on generated files big enough that reading one whole
 * does not fit the heap the CLI is given (--max-old-space-size), yet quick to write and read.
 * No timings are asserted: the benchmark (bench/data-scale) measures those.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, MLCTL_BIN, runCli, SHARED_DATA } from '../helpers/cli.js';

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

  it('train refuses the same file before any run starts (exit 2), naming the line', async () => {
    const env = { MLCTL_RUNS_DIR: join(work, 'runs') };
    const refused = await runCli(['train', '--data', 'bad.csv', '--target', 'value', '--model', 'linear'], { cwd: work, env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('bad.csv line 299000: expected 4 fields, found 2');
    const runs = await runCli(['runs', 'list', '--json'], { cwd: work, env });
    expect((JSON.parse(runs.stdout) as { total: number }).total).toBe(0);
  });
});

describe('predict --input big.csv --output', () => {
  const ws = createWorkspace('mlctl-e2e-scale-predict-');
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: ws.dir, env: { ...ws.env, ...env } });
  afterAll(() => ws.cleanup());

  /** Housing's rows repeated, each with an id: more records than the heap given could hold as objects. */
  function writeHousing(path: string, rows: number, badLineAt?: number): void {
    const [header, ...lines] = readFileSync(join(SHARED_DATA, 'housing', 'housing.csv'), 'utf8').trim().split('\n');
    const fd = openSync(path, 'w');
    let chunk = `id,${header!.split(',').slice(1).join(',')}\n`;
    for (let i = 0; i < rows; i++) {
      const fields = lines[i % lines.length]!.split(',').slice(1);
      chunk += i + 2 === badLineAt ? `${i},${fields.slice(2).join(',')}\n` : `${i},${fields.join(',')}\n`;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    closeSync(fd);
  }

  it('streams the answers in input order, in a heap far smaller than the records', async () => {
    const trained = await cli(['train', 'housing', '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const run = (JSON.parse(trained.stdout) as { run: { id: string } }).run.id;
    const rows = 600_000;
    writeHousing(join(ws.dir, 'houses.csv'), rows);
    // 64 MiB: the model and one batch fit; 600,000 records as objects would take several times that.
    const result = await cli(['predict', '--model', run, '--input', 'houses.csv', '--output', 'prices.csv', '--json'], { NODE_OPTIONS: '--max-old-space-size=64' });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ rows, output: 'prices.csv', format: 'csv' });
    const lines = readFileSync(join(ws.dir, 'prices.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('id,prediction');
    expect(lines).toHaveLength(rows + 1);
    // In order, and the same answer for the same house wherever it comes in the file.
    expect(lines.slice(1, 6).map((line) => line.split(',')[0])).toEqual(['0', '1', '2', '3', '4']);
    expect(lines[rows]!.split(',')[0]).toBe(String(rows - 1));
    expect(lines[1 + 545]!.split(',')[1]).toBe(lines[1]!.split(',')[1]);
    expect(lines.slice(1).every((line) => Number.isFinite(Number(line.split(',')[1])))).toBe(true);
  });

  it('stops at a malformed line deep in the file, naming it (exit 2), and leaves no output file', async () => {
    writeHousing(join(ws.dir, 'broken.csv'), 200_000, 150_000);
    const trained = await cli(['runs', 'list', '--json']);
    const run = (JSON.parse(trained.stdout) as { runs: { id: string }[] }).runs[0]!.id;
    const result = await cli(['predict', '--model', run, '--input', 'broken.csv', '--output', 'out.csv']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('broken.csv line 150000: expected 13 fields, found 11');
    expect(existsSync(join(ws.dir, 'out.csv'))).toBe(false);
    expect(readdirSync(ws.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const skipped = await cli(['predict', '--model', run, '--input', 'broken.csv', '--output', 'out.jsonl', '--on-bad-line', 'skip']);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain('1 line with the wrong number of fields skipped (line 150000)');
    expect(readFileSync(join(ws.dir, 'out.jsonl'), 'utf8').trim().split('\n')).toHaveLength(199_999);
  });

  it('an interrupt mid-file removes the partial output and exits 130', async () => {
    const runs = await cli(['runs', 'list', '--json']);
    const run = (JSON.parse(runs.stdout) as { runs: { id: string }[] }).runs[0]!.id;
    const child = spawn(process.execPath, [MLCTL_BIN, 'predict', '--model', run, '--input', 'houses.csv', '--output', 'cut.csv'], { cwd: ws.dir, env: { ...process.env, ...ws.env, CI: 'true' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Interrupt once the temporary output holds some answers, as a terminal would.
    const partial = () => readdirSync(ws.dir).some((name) => name.startsWith('.cut.csv.') && name.endsWith('.tmp'));
    for (let i = 0; i < 600 && !partial(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(partial()).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(readdirSync(ws.dir).filter((name) => name.includes('cut.csv'))).toEqual([]);
  });
});
