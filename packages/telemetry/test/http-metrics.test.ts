import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLlmMetrics, createMetricsRegistry, metricsPlugin } from '../src/index.js';

describe('metricsPlugin', () => {
  it('records requests by route pattern and serves the registry in the Prometheus text format', async () => {
    const registry = createMetricsRegistry();
    const llm = createLlmMetrics(registry);
    const app = Fastify();
    await app.register(metricsPlugin, { registry });
    app.get('/projects/:id', () => Promise.resolve({ ok: true }));
    app.get('/boom', () => Promise.reject(new Error('boom')));
    llm.completionTokens.inc({ model: 'tiny' }, 7);

    await app.inject({ method: 'GET', url: '/projects/41' });
    await app.inject({ method: 'GET', url: '/projects/42' });
    await app.inject({ method: 'GET', url: '/boom' });
    await app.inject({ method: 'GET', url: '/nowhere/123' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="/projects/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'http_server_request_duration_seconds_count{method="GET",route="/boom",status_code="500"} 1',
    );
    // Unmatched URLs collapse to one label value; raw ids never become series.
    expect(text).toContain('route="unmatched",status_code="404"} 1');
    expect(text).not.toContain('/nowhere/123');
    expect(text).not.toContain('route="/metrics"');
    expect(text).toContain('llm_completion_tokens_total{model="tiny"} 7');
    expect(text).toContain('process_cpu_seconds_total');
    await app.close();
  });

  it('keeps registries apart, so two apps in one process do not share series', async () => {
    const a = createMetricsRegistry();
    const b = createMetricsRegistry();
    createLlmMetrics(a).promptTokens.inc({ model: 'm' }, 3);
    createLlmMetrics(b);
    expect(await a.metrics()).toContain('llm_prompt_tokens_total{model="m"} 3');
    expect(await b.metrics()).not.toContain('llm_prompt_tokens_total{model="m"}');
  });
});
