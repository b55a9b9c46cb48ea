import { mkdir } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { UsageError } from '../../errors.js';
import { MetricFlusher } from '../metric-flusher.js';
import { validateKey } from '../names.js';
import type { ActiveRun, ParamValue, RunInfo, RunStatus } from '../run-store.js';
import { inTransaction, type TrackingDialect } from './tracking-dialect.js';
import type { TrackingSchema } from './tracking-schema.js';

/** How long metric points may wait in memory before they are written (ms), as the file store. */
const METRIC_FLUSH_POINTS = 5_000;

export interface SqlRunWriterOptions {
  readonly db: Kysely<TrackingSchema>;
  readonly dialect: TrackingDialect;
  readonly info: RunInfo;
  readonly artifactsDir: string;
  readonly artifactUri: string;
  readonly clock: () => number;
  readonly setTags: (tags: Readonly<Record<string, string>>) => Promise<unknown>;
  /**
   * Stores what the run wrote into `artifactsDir` where the store keeps artifacts; returns
   * the SHA-256 of the bundle's manifest.json, or null when the run saved no bundle.
   */
  readonly keepArtifacts: () => Promise<string | null>;
}

export interface PendingPoint {
  readonly key: string;
  readonly seq: number;
  readonly step: number;
  readonly value: number;
  readonly timestamp: number;
}

/**
 * A run written into the database by this process. Params go in one INSERT per call;
 * metric points are buffered and written in batches (a multi-row INSERT of the history and
 * an upsert of each key's last value, in one transaction), flushed like the file store's:
 * when MetricFlusher says (metric-flusher.ts).
 * Ending FINISHED stores the artifacts first and only then records the run as finished with
 * its bundle's manifest SHA-256: a row never says a bundle exists before all of it does.
 */
export class SqlRunWriter implements ActiveRun {
  readonly id: string;
  readonly location: string;
  readonly artifactsDir: string;
  readonly artifactUri: string;
  private info: RunInfo;
  private params: Record<string, ParamValue> = {};
  private pending: PendingPoint[] = [];
  private readonly counts = new Map<string, number>();
  private readonly knownKeys = new Set<string>();
  private readonly flusher = new MetricFlusher(() => this.writePending());
  private ended = false;

  constructor(private readonly options: SqlRunWriterOptions) {
    this.info = options.info;
    this.id = options.info.id;
    this.artifactsDir = options.artifactsDir;
    this.artifactUri = options.artifactUri;
    this.location = options.artifactUri.replace(/\/artifacts\/?$/, '');
  }

  /** Makes the local artifacts folder; called once by the store when the run is created. */
  async prepare(): Promise<void> {
    await mkdir(this.artifactsDir, { recursive: true });
  }

  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    this.assertOpen();
    const added: [string, ParamValue][] = [];
    for (const [key, value] of Object.entries(params)) {
      validateKey('param', key);
      if (!(value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
        throw new UsageError('INVALID_PARAM_VALUE', `param "${key}" must be a string, a finite number, a boolean or null`);
      }
      if (key in this.params) {
        if (this.params[key] !== value) {
          throw new UsageError('PARAM_IMMUTABLE', `param "${key}" was already logged as ${JSON.stringify(this.params[key])}; params cannot change (got ${JSON.stringify(value)})`, {
            hint: 'log the new value under another key, or start a new run',
          });
        }
        continue;
      }
      added.push([key, value]);
    }
    if (added.length === 0) return;
    await this.options.db
      .insertInto('tracking_params')
      .values(added.map(([key, value]) => paramRow(this.id, key, value)))
      .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
      .execute();
    for (const [key, value] of added) this.params[key] = value;
  }

  async logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void> {
    this.assertOpen();
    if (!Number.isInteger(step) || step < 0) throw new UsageError('INVALID_METRIC_STEP', `metric step must be a whole number ≥ 0, got ${step}`);
    const timestamp = this.options.clock();
    for (const [key, value] of Object.entries(metrics)) {
      if (!this.knownKeys.has(key)) {
        validateKey('metric', key);
        this.knownKeys.add(key);
      }
      if (typeof value !== 'number') throw new UsageError('INVALID_METRIC_VALUE', `metric "${key}" must be a number`);
      const seq = this.counts.get(key) ?? 0;
      this.counts.set(key, seq + 1);
      this.pending.push({ key, seq, step, value, timestamp });
    }
    await this.flusher.added(this.pending.length >= METRIC_FLUSH_POINTS);
  }

  /** Writes every pending point in one transaction, in order after any flush under way. */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await writeMetricBatch(this.options.db, this.options.dialect, this.id, batch);
    } catch (error) {
      // Put them back in front so that a later flush retries them in order.
      this.pending = [...batch, ...this.pending];
      throw error;
    }
  }

  setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    return this.options.setTags(tags).then(() => undefined);
  }

  async updateInfo(patch: Partial<Pick<RunInfo, 'datasetSha256' | 'backend' | 'note' | 'task'>>): Promise<void> {
    const set: { dataset?: string | null; backend?: string | null; note?: string | null; task?: string | null } = {};
    if (patch.datasetSha256 !== undefined) set.dataset = patch.datasetSha256;
    if (patch.backend !== undefined) set.backend = patch.backend;
    if (patch.note !== undefined) set.note = patch.note;
    if (patch.task !== undefined) set.task = patch.task;
    if (Object.keys(set).length === 0) return;
    this.info = { ...this.info, ...patch };
    await this.options.db.updateTable('tracking_runs').set(set).where('id', '=', this.id).execute();
  }

  async end(status: Exclude<RunStatus, 'RUNNING'>): Promise<void> {
    if (this.ended) return;
    if (!['FINISHED', 'FAILED', 'KILLED'].includes(status)) throw new UsageError('INVALID_RUN_STATUS', `a run ends FINISHED, FAILED or KILLED, not ${String(status)}`);
    this.ended = true;
    await this.flush();
    // Artifacts first: the row says FINISHED (and names the bundle) only once they are all stored.
    const bundleSha256 = status === 'FINISHED' ? await this.options.keepArtifacts() : null;
    const endMs = this.options.clock();
    const endText = new Date(endMs).toISOString();
    const startMs = Date.parse(this.info.startTime);
    await this.options.db
      .updateTable('tracking_runs')
      .set({ status, end_ms: endMs, end_text: endText, duration: (Date.parse(endText) - startMs) / 1000, bundle_sha256: bundleSha256 })
      .where('id', '=', this.id)
      .execute();
  }

  private assertOpen(): void {
    if (this.ended) throw new UsageError('RUN_ENDED', `run ${this.id} has ended; nothing more can be logged to it`);
  }
}

/** A param as stored: its JSON, its text, and its number when it is one. */
export function paramRow(runId: string, key: string, value: ParamValue): TrackingSchema['tracking_params'] {
  return { run_id: runId, key, json: JSON.stringify(value), text: value === null ? 'null' : String(value), num: numeric(value) };
}

/** A tag as stored. */
export function tagRow(runId: string, key: string, value: string): TrackingSchema['tracking_tags'] {
  return { run_id: runId, key, value, num: numeric(value) };
}

/** A number, or the number a numeric string spells; null otherwise (as the file store's index). */
export function numeric(value: ParamValue): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** A metric value as stored: finite numbers as such, NaN and the infinities as text beside a null. */
export function metricValue(value: number): { value: number | null; special: string | null } {
  return Number.isFinite(value) ? { value, special: null } : { value: null, special: String(value) };
}

/**
 * Appends points to the histories and moves each key's last value (with the count of points
 * its history then holds: the last point's seq + 1), in one transaction.
 */
export async function writeMetricBatch(db: Kysely<TrackingSchema>, dialect: TrackingDialect, runId: string, batch: readonly PendingPoint[]): Promise<void> {
  const latest = new Map<string, PendingPoint>();
  for (const point of batch) latest.set(point.key, point);
  await inTransaction(db, dialect, async (trx) => {
    await dialect.insertPoints(trx, batch.map((p) => ({ run_id: runId, key: p.key, seq: p.seq, step: p.step, ...metricValue(p.value), timestamp: p.timestamp })));
    await trx
      .insertInto('tracking_latest_metrics')
      .values([...latest.values()].map((p) => ({ run_id: runId, key: p.key, ...metricValue(p.value), step: p.step, timestamp: p.timestamp, points: p.seq + 1 })))
      .onConflict((oc) =>
        oc.columns(['run_id', 'key']).doUpdateSet((eb) => ({
          value: eb.ref('excluded.value'),
          special: eb.ref('excluded.special'),
          step: eb.ref('excluded.step'),
          timestamp: eb.ref('excluded.timestamp'),
          points: eb.ref('excluded.points'),
        })),
      )
      .execute();
  });
}
