import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRecords } from '../../../src/core/features/record-validation.js';
import { compareWithProfile } from '../../../src/core/monitoring/compare-drift.js';
import { resolveThresholds } from '../../../src/core/monitoring/drift-thresholds.js';
import { countsFromWindows, createMemoryHistogramStore, type HistogramStore, type HistogramWindow } from '../../../src/core/monitoring/histogram-store.js';
import { createProfileBinner } from '../../../src/core/monitoring/profile-binner.js';
import { renderDriftMetrics } from '../../../src/core/serving/drift-metrics.js';
import { createDriftMonitor, type DriftMonitor, type LiveDriftSnapshot } from '../../../src/core/serving/drift-monitor.js';
import { createModelHolder } from '../../../src/core/serving/model-holder.js';
import { createServeHandler } from '../../../src/core/serving/prediction-handler.js';
import { createServeLogger } from '../../../src/core/serving/request-log.js';
import type { ServedModel } from '../../../src/core/serving/served-model.js';
import { createServingMetrics } from '../../../src/core/serving/serving-metrics.js';
import { missingTool } from '../../helpers/tools.js';
import { loadFixtureModel, SEED_BODY, syntheticCensusRows, writeIncomeBundle, type IncomeBundle } from './fixture.js';

/**
 * Live drift histograms in serve, driven by a hand-turned clock: windows aligned to the
 * epoch, closed windows stored and kept for the gauges' span, the partial window written at
 * close, a failing store retried, a bundle without a profile skipped, a swapped version's
 * gauges kept while its traffic is in the span; and the gauges computed from counts summed
 * over workers, not from averaged PSI.
 */

const WINDOW = 60_000;
const T0 = Date.UTC(2026, 5, 30, 12, 0, 0);

let bundle: IncomeBundle;
let bare: IncomeBundle;
let model: ServedModel;
let other: ServedModel;
let noProfile: ServedModel;

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 2, profile: true });
  bare = await writeIncomeBundle({ seed: 3 });
  model = await loadFixtureModel(bundle.dir, 'v1');
  other = await loadFixtureModel(bundle.dir, 'v2');
  noProfile = await loadFixtureModel(bare.dir, 'old');
}, 60_000);
afterAll(() => {
  bundle?.cleanup();
  bare?.cleanup();
});

/** A monitor on a clock the test moves; `advance` fires the window timer when it is due. */
function harness(options: { store?: HistogramStore; spanWindows?: number } = {}) {
  let now = T0 + 10_000;
  let due: { at: number; fn: () => void } | undefined;
  const events: { kind: string; detail: unknown }[] = [];
  const monitor = createDriftMonitor({
    windowMs: WINDOW,
    ...(options.store === undefined ? {} : { store: options.store }),
    ...(options.spanWindows === undefined ? {} : { spanWindows: options.spanWindows }),
    now: () => now,
    schedule: (fn, ms) => {
      const entry = { at: now + ms, fn };
      due = entry;
      return { cancel: () => void (due === entry ? (due = undefined) : undefined) };
    },
    onUnavailable: (m, error) => events.push({ kind: 'unavailable', detail: `${m.version}: ${(error as Error).message}` }),
    onWritten: (w) => events.push({ kind: 'written', detail: w.start.toISOString() }),
    onWriteFailed: (error) => events.push({ kind: 'failed', detail: (error as Error).message }),
    onDropped: (windows) => events.push({ kind: 'dropped', detail: windows }),
  });
  return {
    monitor,
    events,
    /** Moves the clock by `ms`, firing the window timer at each boundary passed. */
    async advance(ms: number) {
      const target = now + ms;
      while (due !== undefined && due.at <= target) {
        now = due.at;
        due.fn();
      }
      now = target;
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

/** Validated records and the model's outputs for them, as the routes hand them over. */
async function scored(served: ServedModel, count: number, seed: number, shift: (r: Record<string, unknown>) => Record<string, unknown> = (r) => r) {
  const { records } = validateRecords(served.pipeline, syntheticCensusRows(count, seed).map(shift));
  const features = new Float32Array(served.width * records.length);
  const { transformRecordInto } = await import('../../../src/core/features/pipeline.js');
  records.forEach((r, i) => transformRecordInto(served.pipeline, r, features, i * served.width));
  const outputs = Float32Array.from(await served.scorer.score(features, records.length));
  return { records, outputs };
}

function record(monitor: DriftMonitor, served: ServedModel, batch: { records: readonly Record<string, unknown>[]; outputs: Float32Array }): void {
  monitor.record(served, batch.records as never, batch.outputs);
}

describe('live drift histograms', () => {
  it('closes windows on the epoch-aligned boundary: stored, and counted in the span until it slides past', async () => {
    const store = createMemoryHistogramStore();
    const h = harness({ store, spanWindows: 3 });
    h.monitor.serving(model);
    const batch = await scored(model, 150, 1);
    record(h.monitor, model, batch);
    // The window being counted is not in the gauges yet.
    expect(h.monitor.snapshot()).toMatchObject([{ model: 'income', version: 'v1', rows: 0 }]);
    await h.advance(WINDOW - 10_000);
    const [stored] = await store.windows({ model: 'income', version: 'v1', from: new Date(0), to: new Date(T0 + 10 * WINDOW) });
    expect(stored).toMatchObject({ rows: 150, start: new Date(T0), end: new Date(T0 + WINDOW) });
    // The same counts `monitor drift --data` would get from the same records.
    const binner = createProfileBinner(model.referenceProfile(), model.meaning);
    const expected = binner.newCounts();
    batch.records.forEach((r, i) => {
      binner.addRecord(r, expected);
      binner.addOutput(batch.outputs, i, expected);
    });
    expect(Array.from(countsFromWindows(binner, [stored!]).counts)).toEqual(Array.from(expected));
    expect(h.monitor.snapshot()[0]).toMatchObject({ rows: 150, counts: Array.from(expected) });
    // Empty windows write nothing; after three of them the records left the span.
    await h.advance(2 * WINDOW);
    expect(h.monitor.snapshot()[0]!.rows).toBe(150);
    await h.advance(WINDOW);
    expect(h.monitor.snapshot()[0]).toMatchObject({ rows: 0 });
    expect(h.events.filter((e) => e.kind === 'written')).toEqual([{ kind: 'written', detail: new Date(T0).toISOString() }]);
    await h.monitor.close();
  });

  it('writes the partial window at close under its whole window, so a restarted server adds to it', async () => {
    const store = createMemoryHistogramStore();
    const h = harness({ store });
    h.monitor.serving(model);
    record(h.monitor, model, await scored(model, 40, 2));
    await h.advance(WINDOW);
    record(h.monitor, model, await scored(model, 7, 3));
    await h.advance(WINDOW / 4);
    await h.monitor.close();
    const windows = await store.windows({ model: 'income', from: new Date(0), to: new Date(T0 + 10 * WINDOW) });
    expect(windows.map((w) => [w.start.getTime() - T0, w.end.getTime() - T0, w.rows])).toEqual([
      [0, WINDOW, 40],
      [WINDOW, 2 * WINDOW, 7],
    ]);
    // Counted after close: nothing is written any more, and nothing throws.
    record(h.monitor, model, await scored(model, 1, 4));
    await h.monitor.close();
  });

  it('keeps a window the store refused and writes it with the next one; at close, what still fails is dropped and said', async () => {
    const kept: HistogramWindow[] = [];
    let failing = true;
    const store: HistogramStore = {
      async append(window) {
        if (failing) throw new Error('database is locked');
        kept.push(window);
      },
      windows: async () => kept,
    };
    const h = harness({ store });
    h.monitor.serving(model);
    record(h.monitor, model, await scored(model, 10, 5));
    await h.advance(WINDOW);
    expect(h.events.map((e) => e.kind)).toEqual(['failed']);
    failing = false;
    record(h.monitor, model, await scored(model, 20, 6));
    await h.advance(WINDOW);
    expect(kept.map((w) => w.rows)).toEqual([10, 20]);
    failing = true;
    record(h.monitor, model, await scored(model, 5, 7));
    await h.monitor.close();
    expect(h.events.map((e) => e.kind)).toEqual(['failed', 'written', 'written', 'dropped']);
  });

  it('skips a model whose bundle has no profile, saying so once', async () => {
    const store = createMemoryHistogramStore();
    const h = harness({ store });
    h.monitor.serving(noProfile);
    record(h.monitor, noProfile, await scored(noProfile, 10, 8));
    record(h.monitor, noProfile, await scored(noProfile, 10, 9));
    await h.advance(WINDOW);
    expect(h.monitor.snapshot()).toEqual([]);
    expect(h.events).toEqual([{ kind: 'unavailable', detail: expect.stringMatching(/^old: .*no reference profile/) }]);
    await h.monitor.close();
    expect(await store.windows({ model: 'income', from: new Date(0), to: new Date(T0 + 10 * WINDOW) })).toEqual([]);
  });

  it('after a swap, shows the old version while its records are in the span, then only the served one', async () => {
    const h = harness({ spanWindows: 2 });
    h.monitor.serving(model);
    record(h.monitor, model, await scored(model, 30, 10));
    h.monitor.serving(other);
    // A request that started on the old model finishes on it.
    record(h.monitor, model, await scored(model, 5, 11));
    record(h.monitor, other, await scored(other, 12, 12));
    await h.advance(WINDOW);
    expect(h.monitor.snapshot().map((s) => [s.version, s.rows])).toEqual([
      ['v1', 35],
      ['v2', 12],
    ]);
    await h.advance(2 * WINDOW);
    expect(h.monitor.snapshot().map((s) => [s.version, s.rows])).toEqual([['v2', 0]]);
    await h.monitor.close();
  });

  it('counts what /predict, /invocations and /predict_income answer, and nothing they refuse', async () => {
    const h = harness();
    h.monitor.serving(model);
    const holder = createModelHolder({ initial: model, resolve: async () => ({ bundleDir: model.bundleDir, source: model.source }), load: async () => model });
    const handler = createServeHandler({ holder, metrics: createServingMetrics(), logger: createServeLogger({ sink: { write() {} } }), mlctlVersion: 'test', drift: h.monitor });
    const full = { ...SEED_BODY, race: 'White', sex: 'Male' };
    const post = (url: string, body: unknown) => handler.handle({ method: 'POST', url, contentType: 'application/json', authorization: undefined, body: Buffer.from(JSON.stringify(body)), clientIp: '127.0.0.1' });
    expect((await post('/predict', [full, full, full])).status).toBe(200);
    expect((await post('/invocations', { instances: [full, full] })).status).toBe(200);
    expect((await post('/predict_income', SEED_BODY)).status).toBe(200);
    expect((await post('/predict', [full, { ...full, age: 'old' }])).status).toBe(422);
    await h.advance(WINDOW);
    const [snapshot] = h.monitor.snapshot();
    expect(snapshot!.rows).toBe(6);
    // Every record counted once per input and once in the output distribution.
    const binner = createProfileBinner(model.referenceProfile(), model.meaning);
    for (const slot of [...binner.features, binner.output]) expect(snapshot!.counts.slice(slot.offset, slot.offset + slot.size).reduce((a, b) => a + b, 0)).toBe(6);
    await h.monitor.close();
  });
});

describe('drift gauges over workers', () => {
  /** A worker's snapshot of `count` records, some shifted to age 75. */
  async function workerSnapshot(count: number, seed: number, old: boolean): Promise<LiveDriftSnapshot> {
    const h = harness();
    h.monitor.serving(model);
    record(h.monitor, model, await scored(model, count, seed, old ? (r) => ({ ...r, age: 75 }) : undefined));
    await h.advance(WINDOW);
    const [snapshot] = h.monitor.snapshot();
    await h.monitor.close();
    return snapshot!;
  }

  it('sums the workers’ counts and computes PSI from the sum, not the average of their PSIs', async () => {
    const a = await workerSnapshot(900, 21, false);
    const b = await workerSnapshot(120, 22, true);
    const text = renderDriftMetrics([[a], [b]], { spanWindows: 12, window: '1m' });
    const gauge = (name: string, feature?: string): number => {
      const labels = feature === undefined ? '' : `,feature="${feature}"`;
      const match = new RegExp(`^${name}\\{model="income",version="v1"${labels}\\} (\\S+)$`, 'm').exec(text);
      expect(match, `${name} ${feature ?? ''} in\n${text}`).not.toBeNull();
      return Number(match![1]);
    };
    const binner = createProfileBinner(model.referenceProfile(), model.meaning);
    const sum = Float64Array.from(a.counts, (x, i) => x + b.counts[i]!);
    const thresholds = resolveThresholds(model.manifest.task.monitoring);
    const merged = compareWithProfile(binner, sum, 1020, thresholds);
    const ageOf = (c: ReturnType<typeof compareWithProfile>) => c.features.find((f) => f.feature === 'age')!.psi;
    expect(gauge('mlctl_feature_drift', 'age')).toBeCloseTo(ageOf(merged), 12);
    expect(gauge('mlctl_drifted_features')).toBe(merged.drifted.length);
    expect(gauge('mlctl_output_drift')).toBeCloseTo(merged.output.psi, 12);
    expect(gauge('mlctl_drift_window_records')).toBe(1020);
    const averaged = (ageOf(compareWithProfile(binner, Float64Array.from(a.counts), 900, thresholds)) + ageOf(compareWithProfile(binner, Float64Array.from(b.counts), 120, thresholds))) / 2;
    expect(Math.abs(averaged - ageOf(merged))).toBeGreaterThan(0.1);
  });

  it('shows only the record count below 100 records, and every family’s HELP and TYPE always', async () => {
    const few = await workerSnapshot(60, 23, true);
    const text = renderDriftMetrics([[few]], { spanWindows: 12, window: '5m' });
    expect(text).toMatch(/^mlctl_drift_window_records\{model="income",version="v1"\} 60$/m);
    expect(text).not.toMatch(/^mlctl_feature_drift\{/m);
    for (const name of ['mlctl_feature_drift', 'mlctl_drifted_features', 'mlctl_output_drift', 'mlctl_drift_window_records']) expect(text).toContain(`# TYPE ${name} gauge`);
    expect(renderDriftMetrics([], { spanWindows: 12, window: '5m' })).toContain('# TYPE mlctl_feature_drift gauge');
  });

  it.skipIf(missingTool('promtool'))('is exposition promtool accepts', async () => {
    const text = renderDriftMetrics([[await workerSnapshot(300, 24, true)]], { spanWindows: 12, window: '5m' });
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
