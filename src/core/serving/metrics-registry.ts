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
    this.value += by;
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
    this.value = value;
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

  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: () => void): Gauge {
    return this.add(new Gauge(name, help, labelNames, collect));
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
}
