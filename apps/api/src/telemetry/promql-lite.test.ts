import { describe, expect, it } from 'vitest';
import type { Sample } from './prom-text.js';
import { UnsupportedQueryError, evaluateQuery } from './promql-lite.js';

const s = (name: string, labels: Record<string, string>, value: number): Sample => ({ name, labels, value });

const previous = [
  s('req_total', { job: 'api', code: '200' }, 100),
  s('req_total', { job: 'api', code: '500' }, 10),
  s('req_total', { job: 'auth', code: '200' }, 50),
  s('lat_bucket', { job: 'api', le: '0.1' }, 0),
  s('lat_bucket', { job: 'api', le: '1' }, 0),
  s('lat_bucket', { job: 'api', le: '+Inf' }, 0),
  s('restarted_total', {}, 500),
];
const current = [
  s('req_total', { job: 'api', code: '200' }, 120),
  s('req_total', { job: 'api', code: '500' }, 20),
  s('req_total', { job: 'auth', code: '200' }, 60),
  s('req_total', { job: 'llm', code: '200' }, 7),
  // 10 requests: 5 under 0.1 s, 4 more under 1 s, 1 slower.
  s('lat_bucket', { job: 'api', le: '0.1' }, 5),
  s('lat_bucket', { job: 'api', le: '1' }, 9),
  s('lat_bucket', { job: 'api', le: '+Inf' }, 10),
  s('restarted_total', {}, 30),
  s('gauge', { model: 'a' }, 3),
  s('gauge', { model: 'b' }, 4),
];
const input = { current, previous, seconds: 10 };

describe('evaluateQuery', () => {
  it('computes rate() as the increase per second, a counter born since from 0, one of a target new since skipped', () => {
    expect(evaluateQuery('sum by (job) (rate(req_total[5m]))', input)).toEqual([
      { labels: { job: 'api' }, value: 3 },
      { labels: { job: 'auth' }, value: 1 },
    ]);
    const born = [...current, s('req_total', { job: 'auth', code: '404' }, 20)];
    expect(
      evaluateQuery('sum by (code) (rate(req_total{job="auth"}[5m]))', { ...input, current: born }),
    ).toEqual([
      { labels: { code: '200' }, value: 1 },
      { labels: { code: '404' }, value: 2 },
    ]);
  });

  it('treats a counter that went down as restarted', () => {
    expect(evaluateQuery('sum(rate(restarted_total[1m]))', input)).toEqual([{ labels: {}, value: 3 }]);
  });

  it('divides matching series and applies matchers (the error-ratio panel)', () => {
    const ratio = evaluateQuery(
      'sum by (job) (rate(req_total{code=~"5.."}[5m])) / sum by (job) (rate(req_total[5m]))',
      input,
    );
    expect(ratio).toEqual([{ labels: { job: 'api' }, value: 1 / 3 }]);
    expect(evaluateQuery('sum(rate(req_total{code!="200",job="api"}[5m])) * 60', input)).toEqual([
      { labels: {}, value: 60 },
    ]);
  });

  it('interpolates histogram_quantile inside the bucket and caps the top bucket at the highest bound', () => {
    const q = (p: number) =>
      evaluateQuery(`histogram_quantile(${p}, sum by (le) (rate(lat_bucket[1m])))`, input)[0]?.value;
    expect(q(0.5)).toBeCloseTo(0.1);
    expect(q(0.7)).toBeCloseTo(0.1 + 0.9 * (2 / 4));
    expect(q(0.99)).toBe(1);
  });

  it('answers NaN for a quantile without observations, and nothing for rate() on a first scrape', () => {
    const none = evaluateQuery('histogram_quantile(0.5, sum by (le) (rate(lat_bucket[1m])))', {
      current: previous,
      previous,
      seconds: 5,
    });
    expect(none[0]?.value).toBeNaN();
    expect(evaluateQuery('sum(rate(req_total[1m]))', { current, previous: undefined, seconds: 0 })).toEqual(
      [],
    );
  });

  it('aggregates plain selectors with sum, min, max, by and count', () => {
    expect(evaluateQuery('sum(gauge)', input)).toEqual([{ labels: {}, value: 7 }]);
    expect(evaluateQuery('min(gauge)', input)).toEqual([{ labels: {}, value: 3 }]);
    expect(evaluateQuery('max(gauge)', input)).toEqual([{ labels: {}, value: 4 }]);
    expect(evaluateQuery('count(gauge)', input)).toEqual([{ labels: {}, value: 2 }]);
    expect(evaluateQuery('sum by (model) (gauge)', input)).toHaveLength(2);
    expect(evaluateQuery('sum(absent_metric)', input)).toEqual([]);
  });

  it('refuses queries outside the subset instead of guessing', () => {
    expect(() => evaluateQuery('increase(req_total[5m])', input)).toThrow(UnsupportedQueryError);
    expect(() => evaluateQuery('sum without (job) (req_total)', input)).toThrow(UnsupportedQueryError);
    expect(() => evaluateQuery('req_total offset 5m', input)).toThrow(UnsupportedQueryError);
  });
});
