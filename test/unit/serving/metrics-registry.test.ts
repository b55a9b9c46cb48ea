import { describe, expect, it } from 'vitest';
import { formatSampleValue, MetricsRegistry, renderMergedSnapshots } from '../../../src/core/serving/metrics-registry.js';

describe('Prometheus text exposition', () => {
  it('renders counters, gauges and histograms exactly', () => {
    const registry = new MetricsRegistry();
    const requests = registry.counter('app_requests_total', 'Requests.', ['route', 'status']);
    requests.labels('predict', '200').inc();
    requests.labels('predict', '200').inc(2);
    requests.labels('other', '404').inc();
    registry.gauge('app_in_flight', 'In flight.').labels().set(3);
    const latency = registry.histogram('app_seconds', 'Latency.', ['route'], [0.1, 0.5, 1]);
    for (const v of [0.05, 0.1, 0.3, 2]) latency.labels('predict').observe(v);
    expect(registry.render()).toBe(
      [
        '# HELP app_requests_total Requests.',
        '# TYPE app_requests_total counter',
        'app_requests_total{route="predict",status="200"} 3',
        'app_requests_total{route="other",status="404"} 1',
        '# HELP app_in_flight In flight.',
        '# TYPE app_in_flight gauge',
        'app_in_flight 3',
        '# HELP app_seconds Latency.',
        '# TYPE app_seconds histogram',
        // le is inclusive: 0.1 falls in the 0.1 bucket; counts are cumulative.
        'app_seconds_bucket{route="predict",le="0.1"} 2',
        'app_seconds_bucket{route="predict",le="0.5"} 3',
        'app_seconds_bucket{route="predict",le="1"} 3',
        'app_seconds_bucket{route="predict",le="+Inf"} 4',
        'app_seconds_sum{route="predict"} 2.45',
        'app_seconds_count{route="predict"} 4',
        '',
      ].join('\n'),
    );
  });

  it('escapes label values and help text, never writes a non-finite value', () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge('g', 'Line one\nback\\slash', ['v']).labels('a"b\\c\nd');
    gauge.set(2);
    gauge.set(Number.NaN);
    registry.counter('c_total', 'x').labels().inc(Number.POSITIVE_INFINITY);
    registry.histogram('h', 'x', [], [1]).labels().observe(Number.NaN);
    const text = registry.render();
    expect(text).toContain('# HELP g Line one\\nback\\\\slash');
    expect(text).toContain('g{v="a\\"b\\\\c\\nd"} 2');
    expect(text).toContain('c_total 0');
    expect(text).toContain('h_sum 0');
    expect(text).not.toMatch(/ (NaN|[+-]Inf)$/m);
    expect(formatSampleValue(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatSampleValue(-0.5)).toBe('-0.5');
  });

  it('refuses invalid names, reserved labels, duplicates and counters going down', () => {
    const registry = new MetricsRegistry();
    expect(() => registry.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => registry.counter('ok_total', 'x', ['__reserved'])).toThrow(/invalid label/);
    expect(() => registry.histogram('h', 'x', ['le'], [1])).toThrow(/reserved/);
    expect(() => registry.histogram('h2', 'x', [], [1, 1])).toThrow(/distinct/);
    const c = registry.counter('c_total', 'x', ['a']);
    expect(() => registry.counter('c_total', 'x')).toThrow(/twice/);
    expect(() => c.labels('1', '2')).toThrow(/takes 1 labels/);
    expect(() => c.labels('1').inc(-1)).toThrow(/only goes up/);
  });

  it('calls collectors at scrape time and resets children', () => {
    const registry = new MetricsRegistry();
    let calls = 0;
    const g = registry.gauge('rss_bytes', 'RSS.', [], () => {
      calls++;
      g.labels().set(calls * 10);
    });
    expect(registry.render()).toContain('rss_bytes 10');
    expect(registry.render()).toContain('rss_bytes 20');
    const info = registry.gauge('info', 'Info.', ['version']);
    info.labels('1').set(1);
    info.reset();
    info.labels('2').set(1);
    expect(registry.render()).not.toContain('version="1"');
    expect(registry.names()).toEqual(['rss_bytes', 'info']);
  });

  it('merges several processes: counters and histograms summed, gauges by their aggregation', () => {
    const worker = (requests: number, rss: number, started: number, version: string, latency: number): MetricsRegistry => {
      const registry = new MetricsRegistry();
      registry.counter('req_total', 'Requests.', ['route']).labels('predict').inc(requests);
      registry.gauge('rss_bytes', 'RSS.').labels().set(rss);
      registry.gauge('start_seconds', 'Start.', [], undefined, 'min').labels().set(started);
      registry.gauge('model_info', 'Model.', ['version'], undefined, 'max').labels(version).set(1);
      registry.histogram('latency_seconds', 'Latency.', [], [0.1, 1]).labels().observe(latency);
      return registry;
    };
    const text = renderMergedSnapshots([worker(3, 100, 50, '1', 0.05).snapshot(), worker(4, 200, 40, '1', 0.5).snapshot()]);
    expect(text).toContain('req_total{route="predict"} 7');
    expect(text).toContain('rss_bytes 300');
    expect(text).toContain('start_seconds 40');
    expect(text).toContain('model_info{version="1"} 1');
    expect(text).toContain('latency_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('latency_seconds_bucket{le="1"} 2');
    expect(text).toContain('latency_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('latency_seconds_sum 0.55');
    expect(text).toContain('latency_seconds_count 2');
    // The same document one process renders, when there is one.
    const one = worker(3, 100, 50, '1', 0.05);
    expect(renderMergedSnapshots([one.snapshot()])).toBe(one.render());
  });
});
