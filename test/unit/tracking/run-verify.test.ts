import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileModelRegistry } from '../../../src/core/registry/file-model-registry.js';
import { verifyStore } from '../../../src/core/tracking/run-verify.js';
import { createFakeRun, createTempStore } from '../../helpers/run-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup() {
  const t = createTempStore();
  cleanups.push(t.cleanup);
  const registry = createFileModelRegistry({ store: t.store });
  const run = await createFakeRun(t.store, { metrics: { loss: [1, 0.5] }, params: { lr: 0.1 }, bundle: true });
  return { ...t, registry, run };
}

describe('verifyStore', () => {
  it('finds nothing wrong in a store written through the API, and rebuilds the index', async () => {
    const { store, registry, run } = await setup();
    await registry.register({ runId: run.id, name: 'income' });
    const report = await verifyStore(store, registry);
    expect(report).toMatchObject({ runs: 1, metricFiles: 1, bundles: 1, artifactFiles: 1, damage: [], warnings: [] });
    expect(report.index).toMatchObject({ rebuilt: true, added: 1, broken: 0 });
  });

  it('reports each kind of damage with the file it is in', async () => {
    const { store, registry, run, root } = await setup();
    await registry.register({ runId: run.id, name: 'income' });
    const rel = (p: string) => p.slice(root.length + 1);
    // Final metrics in run.json that the history does not back.
    const runFile = join(run.dir, 'run.json');
    writeFileSync(runFile, readFileSync(runFile, 'utf8').replace('"loss": 0.5', '"loss": 0.25'));
    // A manifest that points outside its bundle.
    const manifest = join(run.artifactsDir, 'model', 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ files: { '../../run.json': 'x', 'weights.bin': JSON.parse(readFileSync(manifest, 'utf8')).files['weights.bin'] } }));
    // A run folder whose run.json never came, long ago (grace 0), and a broken params.json.
    const other = await createFakeRun(store, { experiment: 'housing' });
    rmSync(join(other.dir, 'run.json'));
    writeFileSync(join(other.dir, 'params.json'), '{');
    // A registered version whose run is gone.
    const gone = await createFakeRun(store, { bundle: true });
    await registry.register({ runId: gone.id, name: 'income' });
    rmSync(gone.dir, { recursive: true });
    mkdirSync(join(root, 'housing', 'notes'));

    const report = await verifyStore(store, registry, { graceMs: 0 });
    // The parser's own wording differs between Node versions.
    expect(report.damage.map((d) => `${d.path}: ${d.problem.replace(/^not valid JSON \(.*\)$/, 'not valid JSON')}`).sort()).toEqual(
      [
        `${rel(runFile)}: finalMetrics disagree with the histories of loss`,
        `${rel(manifest)}: lists "../../run.json", which is outside the bundle`,
        `${rel(manifest)}: changed since models/income version 1 was registered`,
        `${rel(join(other.dir, 'run.json'))}: missing`,
        `${rel(join(other.dir, 'params.json'))}: not valid JSON`,
        `models/income version 2: points at run ${gone.id}, which is not in the store`,
      ].sort(),
    );
    expect(report.warnings.map((w) => w.path)).toContain('housing/notes');
    expect(report.index?.broken).toBe(1);
  });
});
