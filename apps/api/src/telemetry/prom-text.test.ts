import { createMetricsRegistry, createSandboxMetrics } from '@cyber/telemetry';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prom-text.js';

describe('parsePrometheusText', () => {
  it('reads what prom-client writes: counters with labels and histogram buckets', async () => {
    const registry = createMetricsRegistry();
    const sandbox = createSandboxMetrics(registry);
    sandbox.runs.inc({ verdict: 'ok', language: 'node' }, 3);
    sandbox.containerStart.observe({ language: 'node' }, 0.07);
    const samples = parsePrometheusText(await registry.metrics());
    expect(samples).toContainEqual({
      name: 'sandbox_runs_total',
      labels: { verdict: 'ok', language: 'node' },
      value: 3,
    });
    const bucket = (le: string) => ({
      name: 'sandbox_container_start_duration_seconds_bucket',
      labels: { le, language: 'node' },
      value: le === '0.05' ? 0 : 1,
    });
    expect(samples).toContainEqual(bucket('0.05'));
    expect(samples).toContainEqual(bucket('0.1'));
    expect(samples).toContainEqual(bucket('+Inf'));
    // The runtime metrics of every registry parse too (process_*, nodejs_*).
    expect(samples.some((sample) => sample.name === 'process_cpu_user_seconds_total')).toBe(true);
  });

  it('unescapes label values and reads special values and timestamps', () => {
    const text = [
      '# HELP m help with "quotes"',
      '# TYPE m gauge',
      'm{path="C:\\\\dir",q="say \\"hi\\"",n="a\\nb"} +Inf 1700000000000',
      'm{x="1",} NaN',
      'n -Inf',
      'o 1.5e3',
    ].join('\n');
    const samples = parsePrometheusText(text);
    expect(samples[0]).toEqual({
      name: 'm',
      labels: { path: 'C:\\dir', q: 'say "hi"', n: 'a\nb' },
      value: Number.POSITIVE_INFINITY,
    });
    expect(samples[1]?.labels).toEqual({ x: '1' });
    expect(samples[1]?.value).toBeNaN();
    expect(samples[2]?.value).toBe(Number.NEGATIVE_INFINITY);
    expect(samples[3]?.value).toBe(1500);
  });

  it('names the line of a malformed sample instead of reading it as empty', () => {
    expect(() => parsePrometheusText('ok 1\n<html>')).toThrow(/line 2/);
    expect(() => parsePrometheusText('m{a="x} 1')).toThrow(/line 1: label a has an unterminated value/);
    expect(() => parsePrometheusText('m{a="x"} oops')).toThrow(/line 1/);
  });
});
