import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelHolder } from '../../../src/core/serving/model-holder.js';
import { createPredictionRecorder, type AnsweredPrediction } from '../../../src/core/serving/prediction-recorder.js';
import { createServeLogger } from '../../../src/core/serving/request-log.js';
import { loadServedModel, type ServedModel } from '../../../src/core/serving/served-model.js';
import type { PredictionRecord } from '../../../src/core/db/predictions-repository.js';
import type { ResolvedModel } from '../../../src/core/tracking/model-reference.js';
import { writeIncomeBundle, type IncomeBundle } from './fixture.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('request log', () => {
  it('pseudonymises with a keyed HMAC: stable per key, different across keys, never the IP', async () => {
    const out: string[] = [];
    const key = new Uint8Array(32).fill(7);
    const logger = createServeLogger({ sink: { write: (t: string) => out.push(t) }, ipKey: key, clock: () => 0 });
    const other = createServeLogger({ sink: { write: () => {} }, ipKey: new Uint8Array(32).fill(8) });
    const p = logger.pseudonymize('192.0.2.1');
    expect(p).toBe(createHmac('sha256', key).update('192.0.2.1').digest('base64url').slice(0, 16));
    expect(logger.pseudonymize('192.0.2.1')).toBe(p);
    expect(logger.pseudonymize('192.0.2.2')).not.toBe(p);
    expect(other.pseudonymize('192.0.2.1')).not.toBe(p);
    // A random key per process when none is configured.
    const a = createServeLogger({ sink: { write: () => {} } }).pseudonymize('192.0.2.1');
    const b = createServeLogger({ sink: { write: () => {} } }).pseudonymize('192.0.2.1');
    expect(a).not.toBe(b);

    logger.request({ method: 'POST', path: '/predict', route: 'predict', status: 200, ms: 1.23456, client: p, bytesIn: 10, records: 2 });
    logger.request({ method: 'GET', path: '/x"y', route: 'other', status: 404, ms: 0.5, client: p, bytesIn: 0, error: 'NOT_FOUND' });
    expect(out).toEqual([]); // buffered until the next turn of the event loop
    await tick();
    expect(out).toHaveLength(1);
    const lines = out[0]!.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ time: '1970-01-01T00:00:00.000Z', level: 'info', event: 'request', method: 'POST', path: '/predict', route: 'predict', status: 200, ms: 1.235, client: p, bytes_in: 10, records: 2 });
    expect(lines[1]).toMatchObject({ path: '/x"y', error: 'NOT_FOUND' });
  });

  it('writes events at once and can turn the access log off', () => {
    const out: string[] = [];
    const logger = createServeLogger({ sink: { write: (t: string) => out.push(t) }, accessLog: false });
    logger.request({ method: 'GET', path: '/', route: 'other', status: 404, ms: 1, client: 'x', bytesIn: 0 });
    logger.event('info', 'listening', { url: 'http://127.0.0.1:1' });
    logger.event('debug', 'hidden');
    expect(out.join('').trim().split('\n').map((l) => JSON.parse(l).event)).toEqual(['listening']);
  });
});

describe('prediction recorder', () => {
  const prediction = (i: number): AnsweredPrediction => ({ input: { age: i }, modelName: 'income', modelVersion: '1', label: '>50K', probability: 0.7, latencyMs: 1, createdAt: '2026-01-01T00:00:00Z' });

  it('batches by size and by time, one write at a time, hashing inputs', async () => {
    const batches: PredictionRecord[][] = [];
    let release!: () => void;
    const recorder = createPredictionRecorder({
      flushRows: 3,
      flushIntervalMs: 30,
      write: async (rows) => {
        batches.push([...rows]);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return rows.length;
      },
    });
    for (let i = 0; i < 3; i++) recorder.add(prediction(i));
    expect(batches).toHaveLength(1); // full batch: written at once
    for (let i = 3; i < 7; i++) recorder.add(prediction(i));
    expect(batches).toHaveLength(1); // the first write is still running
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(batches.map((b) => b.length)).toEqual([3, 4]);
    recorder.add(prediction(7));
    await new Promise((r) => setTimeout(r, 80));
    expect(batches.map((b) => b.length)).toEqual([3, 4, 1]); // the timer flushed the straggler
    expect(batches[0]![0]!.inputHash).toMatch(/^[0-9a-f]{64}$/);
    expect(batches[0]![0]!.inputHash).not.toBe(batches[0]![1]!.inputHash);
    await recorder.close();
  });

  it('drops a failed batch and rows beyond the bound, reporting both, never throwing', async () => {
    const dropped: number[] = [];
    let fail = true;
    const written: number[] = [];
    const recorder = createPredictionRecorder({
      flushRows: 2,
      maxBufferedRows: 3,
      flushIntervalMs: 1000,
      write: async (rows) => {
        if (fail) throw new Error('database is locked');
        written.push(rows.length);
        return rows.length;
      },
      onDropped: (rows) => dropped.push(rows),
    });
    recorder.add(prediction(1));
    recorder.add(prediction(2)); // flush starts, then fails
    for (let i = 0; i < 5; i++) recorder.add(prediction(10 + i)); // 3 fit, 2 are over the bound
    fail = false; // the first write has already failed; the queued three go out next
    await recorder.close();
    expect(dropped).toEqual([1, 1, 2]);
    expect(written).toEqual([3]);
  });
});

describe('model holder', () => {
  let root: IncomeBundle;
  let first: ServedModel;
  let secondDir: string;
  beforeAll(async () => {
    root = await writeIncomeBundle({ seed: 1, name: 'one' });
    secondDir = (await writeIncomeBundle({ seed: 2, name: 'two', root: root.root })).dir;
    first = await loadServedModel({ bundleDir: root.dir, source: { kind: 'registry', name: 'income', version: 1, runId: 'a' } });
  });
  afterAll(() => root.cleanup());

  it('swaps only after the new model loaded; requests keep the model they started with; the old one is disposed after its last user', async () => {
    let target: ResolvedModel = { bundleDir: root.dir, source: { kind: 'registry', name: 'income', version: 1, runId: 'a' } };
    const disposed: string[] = [];
    const load = async (resolved: ResolvedModel): Promise<ServedModel> => {
      const model = await loadServedModel(resolved);
      return { ...model, scorer: { ...model.scorer, dispose: () => void disposed.push(model.version) } };
    };
    const initial = await load(target);
    const swaps: string[] = [];
    const holder = createModelHolder({ initial, resolve: async () => target, load, onSwap: (next, previous, reason) => swaps.push(`${previous.version}→${next.version} ${reason}`) });
    expect(await holder.reload('alias')).toBe('unchanged');
    const inFlight = holder.acquire();
    const alsoInFlight = holder.acquire();
    holder.release(holder.acquire()); // a request answered before the reload
    target = { bundleDir: secondDir, source: { kind: 'registry', name: 'income', version: 2, runId: 'b' } };
    expect(await holder.reload('alias')).toBe('swapped');
    expect(holder.current.version).toBe('2');
    expect(inFlight.version).toBe('1');
    const onNew = holder.acquire();
    expect(onNew.version).toBe('2');
    holder.release(onNew);
    holder.release(inFlight);
    expect(disposed).toEqual([]); // still in use by the second request
    holder.release(alsoInFlight);
    expect(disposed).toEqual(['1']);
    expect(await holder.reload('signal')).toBe('swapped'); // a signal reloads even the same bundle
    expect(disposed).toEqual(['1', '2']);
    expect(swaps).toEqual(['1→2 alias', '2→2 signal']);
    holder.stop();
    holder.disposeAll();
  });

  it('keeps the current model when a reload fails, and polls on its own', async () => {
    let calls = 0;
    const errors: string[] = [];
    const holder = createModelHolder({
      initial: first,
      resolve: async () => {
        calls++;
        throw new Error('registry unreadable');
      },
      load: async () => first,
      pollIntervalMs: 20,
      onError: (error, reason) => errors.push(`${reason}: ${(error as Error).message}`),
    });
    await new Promise((r) => setTimeout(r, 120));
    holder.stop();
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toBe('alias: registry unreadable');
    expect(holder.current).toBe(first);
    expect(await holder.reload('signal')).toBe('failed');
  });
});
