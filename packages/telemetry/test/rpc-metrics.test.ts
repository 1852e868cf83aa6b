// rpc_server_call_duration_seconds: one observation per reported call, labelled by method and outcome only,
// served on the service's /metrics next to the HTTP histogram.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createMetricsRegistry, createRpcServerMetrics, metricsPlugin } from '../src/index.js';

describe('createRpcServerMetrics', () => {
  it('counts calls per method and outcome in a histogram served at /metrics', async () => {
    const registry = createMetricsRegistry();
    const rpc = createRpcServerMetrics(registry);
    const app = Fastify();
    await app.register(metricsPlugin, { registry });
    try {
      rpc.onCallEnd({ method: 'llm.chat', outcome: 'ok', durationSeconds: 0.2 });
      rpc.onCallEnd({ method: 'llm.chat', outcome: 'ok', durationSeconds: 3 });
      rpc.onCallEnd({ method: 'llm.chat', outcome: 'budget_exceeded', durationSeconds: 0.004 });
      rpc.onCallEnd({ method: 'unknown', outcome: 'method_not_found', durationSeconds: 0.001 });

      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(text).toContain('# TYPE rpc_server_call_duration_seconds histogram');
      expect(text).toContain('rpc_server_call_duration_seconds_count{method="llm.chat",outcome="ok"} 2');
      expect(text).toContain('rpc_server_call_duration_seconds_sum{method="llm.chat",outcome="ok"} 3.2');
      expect(text).toContain(
        'rpc_server_call_duration_seconds_bucket{le="0.25",method="llm.chat",outcome="ok"} 1',
      );
      expect(text).toContain(
        'rpc_server_call_duration_seconds_count{method="llm.chat",outcome="budget_exceeded"} 1',
      );
      expect(text).toContain(
        'rpc_server_call_duration_seconds_count{method="unknown",outcome="method_not_found"} 1',
      );
      // Only the two labels (and le): nothing per user or request can become a series.
      const labelNames = new Set(
        [...text.matchAll(/^rpc_server_call_duration_seconds_\w+\{([^}]*)\}/gm)].flatMap((m) =>
          (m[1] ?? '').split(',').map((pair) => pair.split('=')[0]),
        ),
      );
      expect([...labelNames].sort()).toEqual(['le', 'method', 'outcome']);
    } finally {
      await app.close();
    }
  });
});
