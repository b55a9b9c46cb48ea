import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFileModelRegistry } from '../../../src/core/registry/file-model-registry.js';
import { gcFileStore as gcRuns } from '../../../src/core/tracking/file-tracking-store.js';
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

  it('blames a truncated history, not run.json, and an edited run.json, not its histories', async () => {
    const { store, registry, root } = await setup();
    const rel = (p: string) => p.slice(root.length + 1);
    const run = await createFakeRun(store, { metrics: { loss: [1, 0.5, 0.25], acc: [0.1, 0.2], auc: [0.7, 0.8] } });
    const history = (key: string) => join(run.dir, 'metrics', `${key}.jsonl`);
    // Cut at a line boundary, emptied, cut mid-line.
    writeFileSync(history('loss'), readFileSync(history('loss'), 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    truncateSync(history('acc'), 0);
    truncateSync(history('auc'), readFileSync(history('auc'), 'utf8').length - 5);
    const report = await verifyStore(store, registry);
    expect(report.damage.map((d) => `${d.path}: ${d.problem}`).sort()).toEqual(
      [
        `${rel(history('acc'))}: holds 0 of the 2 points the run logged (run.json): the history was truncated`,
        `${rel(history('auc'))}: holds 1 of the 2 points the run logged (run.json): the history was truncated`,
        `${rel(history('loss'))}: holds 2 of the 3 points the run logged (run.json): the history was truncated`,
      ].sort(),
    );

    // A run written before run.json counted points: an emptied history is still blamed on itself.
    const old = await createFakeRun(store, { experiment: 'old', metrics: { loss: [1, 0.5] } });
    const oldRunFile = join(old.dir, 'run.json');
    const { metricPoints: _, ...withoutCounts } = JSON.parse(readFileSync(oldRunFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(oldRunFile, JSON.stringify(withoutCounts));
    truncateSync(join(old.dir, 'metrics', 'loss.jsonl'), 0);
    const again = await verifyStore(store, registry);
    expect(again.damage.filter((d) => d.path.startsWith('old/')).map((d) => `${d.path}: ${d.problem}`)).toEqual([
      `${rel(join(old.dir, 'metrics', 'loss.jsonl'))}: ends with no complete point, but run.json records the final value 0.5: the history was truncated`,
    ]);
  });

  it('reports leftovers of interrupted writes (inside a bundle as damage), and gc removes those whose writer is gone', async () => {
    const { store, registry, run, root } = await setup();
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const bundle = join(run.artifactsDir, 'model');
    const inBundle = join(bundle, `.weights.bin.${dead}.0a1b2c3d.tmp`);
    const runTemp = join(run.dir, `.run.json.${dead}.0a1b2c3d.tmp`);
    const bundleSave = join(run.artifactsDir, '.model.0a1b2c3d.tmp');
    const staging = join(root, '.sync', 'tmp', `${dead}-0a1b2c3d.dir`);
    const live = join(run.dir, `.tags.json.${process.pid}.0a1b2c3d.tmp`);
    writeFileSync(inBundle, 'half');
    writeFileSync(runTemp, '{"id"');
    mkdirSync(bundleSave);
    writeFileSync(join(bundleSave, 'manifest.json'), '{}');
    mkdirSync(join(staging, 'model'), { recursive: true });
    writeFileSync(join(staging, 'model', 'linear.json'), '[]');
    writeFileSync(live, '{}');
    writeFileSync(join(bundle, 'notes.txt'), 'an unlisted file that is not ours');

    const report = await verifyStore(store, registry);
    const rel = (p: string) => p.slice(root.length + 1);
    expect(report.bundles).toBe(1);
    expect(report.damage.map((d) => d.path).sort()).toEqual([rel(inBundle), rel(join(bundle, 'notes.txt'))].sort());
    expect(report.damage.find((d) => d.path === rel(inBundle))?.problem).toMatch(/interrupted atomic write, which makes the bundle fail to load; `mlctl runs gc` removes it/);
    expect(report.warnings.map((w) => w.path).sort()).toEqual([rel(bundleSave), rel(runTemp), rel(staging)].sort());
    expect(report.leftovers.map((l) => [l.path, l.origin, l.kind])).toEqual(
      [
        [rel(staging), 'sync pull', 'folder'],
        [rel(bundleSave), 'bundle save', 'folder'],
        [rel(inBundle), 'atomic write', 'file'],
        [rel(runTemp), 'atomic write', 'file'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );

    const dry = await gcRuns(store, registry, { dryRun: true });
    expect(dry.leftovers).toHaveLength(4);
    expect(existsSync(inBundle)).toBe(true);
    const gc = await gcRuns(store, registry);
    expect(gc.leftovers.map((l) => l.path).sort()).toEqual([rel(bundleSave), rel(inBundle), rel(runTemp), rel(staging)].sort());
    expect(gc.inUse.map((l) => l.path)).toEqual([rel(live)]);
    for (const path of [inBundle, runTemp, bundleSave, staging]) expect(existsSync(path), path).toBe(false);
    expect(existsSync(live)).toBe(true);
    rmSync(join(bundle, 'notes.txt'));
    expect((await verifyStore(store, registry)).damage).toEqual([]);
  });
});
