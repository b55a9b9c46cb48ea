import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { createFileModelRegistry } from '../../../src/core/registry/file-model-registry.js';
import { createFileRunStore } from '../../../src/core/tracking/file-run-store.js';
import { resolveModelReference } from '../../../src/core/tracking/model-reference.js';
import { createFileTrackingStore } from '../../../src/core/tracking/file-tracking-store.js';

/** The resolver's options over the file store at `root`. */
const over = (root: string, cwd = root) => ({ tracking: async () => createFileTrackingStore({ root }), cwd });
import { createFakeRun, createTempStore, writeFakeBundle } from '../../helpers/run-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup() {
  let now = Date.parse('2025-06-01T00:00:00Z');
  const t = createTempStore({ user: 'ana', clock: () => (now += 1000) });
  cleanups.push(t.cleanup);
  const registry = createFileModelRegistry({ store: t.store });
  const first = await createFakeRun(t.store, { bundle: true, metrics: { auc: [0.9] } });
  const second = await createFakeRun(t.store, { bundle: true, metrics: { auc: [0.92] } });
  return { ...t, registry, first, second };
}

async function errorOf(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected a rejection');
}

describe('file model registry', () => {
  it('numbers versions, moves aliases and audits every change with old → new', async () => {
    const { registry, first, second, root } = await setup();
    expect((await registry.register({ runId: first.id, name: 'income', description: 'baseline' })).version).toBe(1);
    expect((await registry.register({ runId: second.id.slice(0, 10), name: 'income' })).version).toBe(2);
    expect(await registry.setAlias('income', 'production', 1)).toEqual({ previous: null });
    expect(await registry.setAlias('income', 'production', 2)).toEqual({ previous: 1 });
    expect((await registry.resolve('income', { alias: 'production' })).runId).toBe(second.id);
    expect((await registry.resolve('income', { alias: 'latest' })).version).toBe(2);
    expect((await errorOf(registry.deleteVersion('income', 2))).code).toBe('MODEL_VERSION_HAS_ALIASES');
    expect(await registry.deleteAlias('income', 'production')).toEqual({ previous: 2 });
    await registry.deleteVersion('income', 2);
    // Numbers are never reused.
    expect((await registry.register({ runId: second.id, name: 'income' })).version).toBe(3);

    const model = await registry.get('income');
    expect(model.versions.map((v) => v.version)).toEqual([1, 3]);
    expect(model.description).toBe('baseline');
    const audit = await registry.auditLog('income');
    expect(audit.map((e) => [e.action, e.old, e.new])).toEqual([
      ['register', null, `runs:/${first.id}`],
      ['register', null, `runs:/${second.id}`],
      ['alias-set', null, 1],
      ['alias-set', 1, 2],
      ['alias-delete', 2, null],
      ['version-delete', `runs:/${second.id}`, null],
      ['register', null, `runs:/${second.id}`],
    ]);
    expect(audit.every((e) => e.user === 'ana' && !Number.isNaN(Date.parse(e.time)))).toBe(true);
    expect(readFileSync(join(root, 'models', 'income', 'audit.jsonl'), 'utf8').trim().split('\n')).toHaveLength(7);
  });

  it('validates names, aliases and versions, and what it registers', async () => {
    const { registry, store, first } = await setup();
    for (const name of ['../x', '/abs', 'a/b', '.hidden', '']) expect((await errorOf(registry.register({ runId: first.id, name }))).code).toBe('INVALID_MODEL_NAME');
    await registry.register({ runId: first.id, name: 'income' });
    expect((await errorOf(registry.setAlias('income', '1st', 1))).code).toBe('INVALID_MODEL_ALIAS');
    expect((await errorOf(registry.setAlias('income', 'latest', 1))).code).toBe('RESERVED_MODEL_ALIAS');
    expect((await errorOf(registry.setAlias('income', 'production', 9))).code).toBe('MODEL_VERSION_NOT_FOUND');
    expect((await errorOf(registry.setAlias('nope', 'production', 1))).code).toBe('MODEL_NOT_FOUND');
    const noBundle = await createFakeRun(store);
    expect((await errorOf(registry.register({ runId: noBundle.id, name: 'income' }))).code).toBe('RUN_HAS_NO_BUNDLE');
    // This process is alive, so its run really is running (real clock: the pid-reuse guard compares start times).
    const running = await createFakeRun(createFileRunStore({ root: store.root }), { bundle: true, status: 'RUNNING' });
    expect((await errorOf(registry.register({ runId: running.id, name: 'income' }))).code).toBe('RUN_NOT_FINISHED');
    await running.end('FINISHED');
  });

  it('hands out distinct versions to concurrent registrations', async () => {
    const { registry, first } = await setup();
    const versions = await Promise.all(Array.from({ length: 8 }, () => registry.register({ runId: first.id, name: 'income' })));
    expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await registry.auditLog('income')).toHaveLength(8);
  });
});

describe('resolveModelReference', () => {
  it('resolves every form DESIGN.md lists to the same bundle', async () => {
    const { registry, first, second, root } = await setup();
    await registry.register({ runId: first.id, name: 'income' });
    await registry.register({ runId: second.id, name: 'income' });
    await registry.setAlias('income', 'champion', 1);
    const opts = over(root);
    const bundle = join(first.artifactsDir, 'model');
    expect(await resolveModelReference(first.id, opts)).toEqual({ bundleDir: bundle, source: { kind: 'run', runId: first.id } });
    expect((await resolveModelReference(`runs:/${first.id}`, opts)).bundleDir).toBe(bundle);
    expect(await resolveModelReference('income@champion', opts)).toEqual({ bundleDir: bundle, source: { kind: 'registry', runId: first.id, name: 'income', version: 1, alias: 'champion' } });
    expect((await resolveModelReference('models:/income@champion', opts)).bundleDir).toBe(bundle);
    expect((await resolveModelReference('income/2', opts)).source).toEqual({ kind: 'registry', runId: second.id, name: 'income', version: 2 });
    expect((await resolveModelReference('models:/income/2', opts)).bundleDir).toBe(join(second.artifactsDir, 'model'));
    expect(await resolveModelReference(bundle, opts)).toEqual({ bundleDir: bundle, source: { kind: 'path', uri: bundle } });
    const local = join(root, '..', 'exported');
    writeFakeBundle(local);
    expect((await resolveModelReference('./exported', over(root, join(root, '..')))).bundleDir).toBe(local);
    // A bare relative name is a path only when such a directory exists.
    expect((await resolveModelReference('exported', over(root, join(root, '..')))).source.kind).toBe('path');
    let fetched = '';
    const viaS3 = await resolveModelReference('s3://bucket/models/income', { ...opts, fetchRemote: async (uri) => ((fetched = uri), local) });
    expect(viaS3).toEqual({ bundleDir: local, source: { kind: 's3', uri: 's3://bucket/models/income' } });
    expect(fetched).toBe('s3://bucket/models/income');
  });

  it('refuses what is malformed with exit 2 and reports what is missing with exit 3', async () => {
    const { registry, first, root } = await setup();
    await registry.register({ runId: first.id, name: 'income' });
    // Not the store root: there, "income" is an existing directory and would be taken as a path.
    const opts = over(root, join(root, '..'));
    const cases: [string, string, string][] = [
      ['../x', 'usage', 'BUNDLE_PATH_NOT_FOUND'],
      ['/definitely/not/here', 'usage', 'BUNDLE_PATH_NOT_FOUND'],
      [root, 'usage', 'NOT_A_BUNDLE'],
      ['a/b/c', 'usage', 'INVALID_MODEL_REFERENCE'],
      ['runs:/../x', 'usage', 'INVALID_MODEL_REFERENCE'],
      ['models:/../x@prod', 'usage', 'INVALID_MODEL_REFERENCE'],
      ['models:/income', 'usage', 'INVALID_MODEL_REFERENCE'],
      ['s3://bucket/x', 'usage', 'S3_NOT_CONFIGURED'],
      ['0123456789abcdef0123', 'not-found', 'RUN_NOT_FOUND'],
      ['income', 'not-found', 'RUN_NOT_FOUND'],
      ['income@production', 'not-found', 'MODEL_ALIAS_NOT_FOUND'],
      ['income/7', 'not-found', 'MODEL_VERSION_NOT_FOUND'],
      ['housing@production', 'not-found', 'MODEL_NOT_FOUND'],
    ];
    for (const [ref, category, code] of cases) {
      const error = await errorOf(resolveModelReference(ref, opts));
      expect([ref, error.category, error.code]).toEqual([ref, category, code]);
    }
  });

  it('refuses a registered bundle whose manifest changed since registration (exit 4)', async () => {
    const { registry, first, root } = await setup();
    await registry.register({ runId: first.id, name: 'income' });
    const manifest = join(first.artifactsDir, 'model', 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('mlctl.bundle', 'mlctl.bundle '));
    const error = await errorOf(resolveModelReference('income/1', over(root)));
    expect([error.category, error.code]).toEqual(['gate', 'BUNDLE_CHANGED']);
  });
});
