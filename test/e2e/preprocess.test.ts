import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli } from '../helpers/cli.js';

/**
 * `mlctl preprocess income` against the built CLI: the transformed sets written a block of rows
 * at a time (Adult's 29,305 training rows span several blocks), each row the pipeline's
 * features plus the encoded target, every value a finite number.
 */

const ws = createWorkspace('mlctl-preprocess-');
const cli = (args: string[]) => runCli(args, { cwd: ws.dir, env: ws.env, timeoutMs: 300_000 });
afterAll(() => ws.cleanup());

describe('mlctl preprocess', () => {
  it('writes train, validation and test sets of the pipeline features and the target, every value finite', async () => {
    const out = join(ws.dir, 'processed');
    const r = await cli(['preprocess', 'income', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const pipeline = JSON.parse(readFileSync(join(out, 'pipeline.json'), 'utf8')) as { featureNames: string[] };
    const expected = { 'train.csv': 29_305, 'validation.csv': 3_256, 'test.csv': 16_281 };
    for (const [file, rows] of Object.entries(expected)) {
      const lines = readFileSync(join(out, file), 'utf8').split('\n');
      expect(lines.at(-1)).toBe('');
      expect(lines.length - 2, file).toBe(rows);
      const header = lines[0]!.split(',');
      expect(header).toEqual([...pipeline.featureNames, 'income']);
      for (const line of lines.slice(1, -1)) {
        const cells = line.split(',');
        expect(cells.length).toBe(header.length);
        for (const cell of cells) if (!Number.isFinite(Number(cell))) throw new Error(`${file}: "${cell}" in ${line}`);
        expect(['0', '1']).toContain(cells.at(-1));
      }
    }
  });
});
