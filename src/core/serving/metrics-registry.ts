/**
 * Prometheus metrics written by hand: counters, gauges and histograms with labels, rendered
 * in the text exposition format 0.0.4 (what `promtool check metrics` checks). The hot path
 * resolves a labelled child once (`labels(...)`, cached by its values) and then only adds
 * numbers; nothing is formatted until a scrape.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'counter' | 'gauge' | 'histogram';

/** A metric family: a name, help text, label names, and its samples as text. */
interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  render(lines: string[]): void;
  snapshot(): FamilySnapshot;
}

/**
 * How a gauge's values from several processes (serve --workers) combine: summed (requests
 * in flight, resident memory), or the largest or smallest (a start time, a model's info).
 * Counters and histograms are always summed.
 */
export type GaugeAggregation = 'sum' | 'max' | 'min';

/** One family's samples as plain data, for sending between processes and merging. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  readonly aggregation: GaugeAggregation;
  /** Histograms: their bucket bounds. */
  readonly bounds?: readonly number[];
  /** Label values and the value; histograms: non-cumulative bucket counts, then sum and count. */
  readonly samples: readonly { readonly labels: readonly string[]; readonly value: number; readonly buckets?: readonly number[]; readonly sum?: number; readonly count?: number }[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Prometheus' float text: +Inf, -Inf, NaN, else the shortest round-trip form. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Children of a labelled metric, keyed by their label values joined with a separator no value holds in practice. */
abstract class Family<Child> implements Metric {
  abstract readonly type: MetricType;
  protected readonly children = new Map<string, { values: readonly string[]; child: Child }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    /** Called at each scrape before rendering, to refresh values read from elsewhere (process figures). */
    protected readonly collect?: () => void,
    readonly aggregation: GaugeAggregation = 'sum',
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const label of labelNames) if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`invalid label name ${label} on ${name}`);
  }

  protected abstract create(): Child;

  /** The child for these label values (in labelNames order), created on first use. */
  labels(...values: string[]): Child {
    if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes ${this.labelNames.length} labels, got ${values.length}`);
    const key = values.length === 1 ? values[0]! : values.join('\u0001');
    let entry = this.children.get(key);
    if (entry === undefined) {
      entry = { values: [...values], child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Drops every child (a gauge whose label set changes, such as model info). */
  reset(): void {
    this.children.clear();
  }

  abstract render(lines: string[]): void;

  abstract snapshot(): FamilySnapshot;

  protected base(): Omit<FamilySnapshot, 'samples'> {
    this.collect?.();
    return { name: this.name, help: this.help, type: this.type, labelNames: this.labelNames, aggregation: this.aggregation };
  }

  protected header(lines: string[]): void {
    this.collect?.();
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
  }
}

export interface CounterChild {
  inc(by?: number): void;
  readonly value: number;
}

class CounterValue implements CounterChild {
  value = 0;
  inc(by = 1): void {
    if (by < 0) throw new Error('a counter only goes up');
    // A non-finite increment would poison the series for good.
    if (Number.isFinite(by)) this.value += by;
  }
}

export class Counter extends Family<CounterChild> {
  readonly type = 'counter';
  protected create(): CounterChild {
    return new CounterValue();
  }
  render(lines: string[]): void {
    this.header(lines);
    for (const { values, child } of this.children.values()) lines.push(`${this.name}${labelText(this.labelNames, values)} ${formatSampleValue(child.value)}`);
  }
  snapshot(): FamilySnapshot {
    const base = this.base();
    return { ...base, samples: [...this.children.values()].map(({ values, child }) => ({ labels: values, value: child.value })) };
  }
}

export interface GaugeChild {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  readonly value: number;
}

class GaugeValue implements GaugeChild {
  value = 0;
  set(value: number): void {
    if (Number.isFinite(value)) this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class Gauge extends Family<GaugeChild> {
  readonly type = 'gauge';
  protected create(): GaugeChild {
    return new GaugeValue();
  }
  render(lines: string[]): void {
    this.header(lines);
    for (const { values, child } of this.children.values()) lines.push(`${this.name}${labelText(this.labelNames, values)} ${formatSampleValue(child.value)}`);
  }
  snapshot(): FamilySnapshot {
    const base = this.base();
    return { ...base, samples: [...this.children.values()].map(({ values, child }) => ({ labels: values, value: child.value })) };
  }
}

export interface HistogramChild {
  observe(value: number): void;
  readonly count: number;
  readonly sum: number;
}

class HistogramValue implements HistogramChild {
  count = 0;
  sum = 0;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly buckets: Float64Array;
  constructor(private readonly bounds: Float64Array) {
    this.buckets = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.buckets[i]! += 1;
    this.count += 1;
    this.sum += value;
  }
}

export class Histogram extends Family<HistogramChild> {
  readonly type = 'histogram';
  private readonly bounds: Float64Array;
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (labelNames.includes('le')) throw new Error(`${name}: "le" is reserved for histogram buckets`);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) throw new Error(`${name}: buckets must be distinct finite numbers`);
    this.bounds = Float64Array.from(sorted);
  }
  protected create(): HistogramChild {
    return new HistogramValue(this.bounds);
  }
  render(lines: string[]): void {
    this.header(lines);
    for (const { values, child } of this.children.values()) {
      const h = child as HistogramValue;
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += h.buckets[i]!;
        const le = i < this.bounds.length ? formatSampleValue(this.bounds[i]!) : '+Inf';
        lines.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${le}"`)} ${formatSampleValue(cumulative)}`);
      }
      lines.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatSampleValue(h.sum)}`);
      lines.push(`${this.name}_count${labelText(this.labelNames, values)} ${formatSampleValue(h.count)}`);
    }
  }
  snapshot(): FamilySnapshot {
    const base = this.base();
    return {
      ...base,
      bounds: [...this.bounds],
      samples: [...this.children.values()].map(({ values, child }) => {
        const h = child as HistogramValue;
        return { labels: values, value: h.count, buckets: [...h.buckets], sum: h.sum, count: h.count };
      }),
    };
  }
}

/** A set of metric families rendered together. Names must be unique. */
export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(name: string, help: string, labelNames: readonly string[] = [], collect?: () => void): Counter {
    return this.add(new Counter(name, help, labelNames, collect));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: () => void, aggregation: GaugeAggregation = 'sum'): Gauge {
    return this.add(new Gauge(name, help, labelNames, collect, aggregation));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** Names of every registered family (what a dashboard may query). */
  names(): string[] {
    return [...this.metrics.keys()];
  }

  /** The text exposition of every family, ending in a newline. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics.values()) metric.render(lines);
    return `${lines.join('\n')}\n`;
  }

  /** Every family's samples as data (process figures refreshed first). */
  snapshot(): FamilySnapshot[] {
    return [...this.metrics.values()].map((metric) => metric.snapshot());
  }
}

/**
 * Several processes' snapshots as one exposition: samples with the same name and labels
 * are combined (counters and histograms summed, gauges by their aggregation), so a scrape
 * of `serve --workers N` reads like one process.
 */
export function renderMergedSnapshots(snapshots: readonly (readonly FamilySnapshot[])[]): string {
  const families = new Map<string, { family: FamilySnapshot; samples: Map<string, { labels: readonly string[]; value: number; buckets?: number[]; sum?: number; count?: number }> }>();
  for (const snapshot of snapshots) {
    for (const family of snapshot) {
      let entry = families.get(family.name);
      if (entry === undefined) {
        entry = { family, samples: new Map() };
        families.set(family.name, entry);
      }
      for (const sample of family.samples) {
        const key = sample.labels.join('\u0001');
        const seen = entry.samples.get(key);
        if (seen === undefined) {
          entry.samples.set(key, { labels: sample.labels, value: sample.value, ...(sample.buckets === undefined ? {} : { buckets: [...sample.buckets], sum: sample.sum ?? 0, count: sample.count ?? 0 }) });
          continue;
        }
        if (family.type === 'histogram' && seen.buckets !== undefined && sample.buckets !== undefined) {
          for (let i = 0; i < seen.buckets.length; i++) seen.buckets[i]! += sample.buckets[i] ?? 0;
          seen.sum = (seen.sum ?? 0) + (sample.sum ?? 0);
          seen.count = (seen.count ?? 0) + (sample.count ?? 0);
        } else if (family.type === 'gauge' && family.aggregation === 'max') seen.value = Math.max(seen.value, sample.value);
        else if (family.type === 'gauge' && family.aggregation === 'min') seen.value = Math.min(seen.value, sample.value);
        else seen.value += sample.value;
      }
    }
  }
  const lines: string[] = [];
  for (const { family, samples } of families.values()) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of samples.values()) {
      if (family.type !== 'histogram' || sample.buckets === undefined) {
        lines.push(`${family.name}${labelText(family.labelNames, sample.labels)} ${formatSampleValue(sample.value)}`);
        continue;
      }
      const bounds = family.bounds ?? [];
      let cumulative = 0;
      for (let i = 0; i <= bounds.length; i++) {
        cumulative += sample.buckets[i] ?? 0;
        const le = i < bounds.length ? formatSampleValue(bounds[i]!) : '+Inf';
        lines.push(`${family.name}_bucket${labelText(family.labelNames, sample.labels, `le="${le}"`)} ${formatSampleValue(cumulative)}`);
      }
      lines.push(`${family.name}_sum${labelText(family.labelNames, sample.labels)} ${formatSampleValue(sample.sum ?? 0)}`);
      lines.push(`${family.name}_count${labelText(family.labelNames, sample.labels)} ${formatSampleValue(sample.count ?? 0)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
