import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli } from '../helpers/cli.js';
import { simpleCommands } from '../helpers/command-lines.js';

// `mlctl models show` lists a model's input schema, so the bad-input hint that points there
// is true: the command it names runs and lists every field the refused records got wrong.
const ws = createWorkspace('mlctl-models-show-');
const cli = (args: readonly string[], input?: string) => runCli(args, { cwd: ws.dir, env: ws.env, ...(input === undefined ? {} : { input }) });
let bundleDir = '';

interface Field {
  field: string;
  type: string;
  required: boolean;
  imputedWith?: string | number;
  categories?: string[];
  trainingRange?: { min: number; max: number };
}

beforeAll(async () => {
  const trained = await cli(['train', 'housing', '--json']);
  expect(trained.code, trained.stderr).toBe(0);
  const result = JSON.parse(trained.stdout) as { run: { id: string }; bundleDir: string };
  bundleDir = result.bundleDir;
  expect((await cli(['models', 'register', result.run.id, '--name', 'housing'])).code).toBe(0);
  expect((await cli(['models', 'alias', 'set', 'housing', 'production', '1'])).code).toBe(0);
}, 120_000);
afterAll(() => ws.cleanup());

describe('mlctl models show', () => {
  it('lists the input schema of a registered model: type, required or imputed, known categories', async () => {
    const human = await cli(['models', 'show', 'housing']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Input schema (version 1)');
    expect(human.stdout).toMatch(/│ furnishingstatus │ string │ no: null → "semi-furnished" │ furnished, semi-furnished, unfurnished │/);
    expect(human.stdout).toMatch(/│ mainroad +│ string │ yes +│ yes, no/);
    const json = JSON.parse((await cli(['models', 'show', 'housing@production', '--json'])).stdout) as { source: { kind: string }; input: { fields: Field[] } };
    expect(json.source.kind).toBe('registry');
    const area = json.input.fields.find((f) => f.field === 'area');
    expect(area).toMatchObject({ type: 'number', required: false });
    expect(typeof area?.imputedWith).toBe('number');
  });

  it('shows the training range a manifest records under x-training-range', async () => {
    const copy = join(ws.dir, 'bundle-with-ranges');
    cpSync(bundleDir, copy, { recursive: true });
    const manifestPath = join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { inputSchema: { properties: Record<string, Record<string, unknown>> } };
    manifest.inputSchema.properties.area!['x-training-range'] = { min: 1650, max: 16200 };
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const r = await cli(['models', 'show', './bundle-with-ranges']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/│ area +│ number │ .*│ training range 1,650 … 16,200 +│/);
    const json = JSON.parse((await cli(['models', 'show', './bundle-with-ranges', '--json'])).stdout) as { input: { fields: Field[] } };
    expect(json.input.fields.find((f) => f.field === 'area')?.trainingRange).toEqual({ min: 1650, max: 16200 });
  });

  it('is where the bad-input hint of predict points, and lists each field it names', async () => {
    const bad = await cli(['predict', '--model', 'housing@production'], JSON.stringify({ area: 'big', bedrooms: 3 }));
    expect(bad.code).toBe(2);
    const hint = /^hint: .*`(mlctl models show [^`]+)`/m.exec(bad.stderr)?.[1];
    expect(hint, bad.stderr).toBe('mlctl models show housing@production');
    const shown = await cli(simpleCommands(hint!)[0]!.slice(1).map((w) => w.text));
    expect(shown.code).toBe(0);
    for (const field of bad.stderr.matchAll(/field "([^"]+)"/g)) expect(shown.stdout).toContain(`│ ${field[1]} `);
  });

  it('says what is wrong with a name that is neither registered nor another reference', async () => {
    const r = await cli(['models', 'show', 'nosuch']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no registered model named "nosuch"');
  });
});
