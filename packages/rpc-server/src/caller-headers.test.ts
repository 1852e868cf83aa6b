import { describe, expect, it } from 'vitest';
import { callerHeaders, traceIdOf } from './caller-headers.js';

const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
const ctx = (headers: Record<string, string>) => ({
  request: { headers, ip: '10.0.0.7' },
  correlationId: 'corr-1',
});

describe('callerHeaders', () => {
  it('carries the caller credential and continues its trace under a new span id', () => {
    const headers = callerHeaders(
      ctx({ authorization: 'Bearer abc', traceparent: `00-${trace}-00f067aa0ba902b7-01`, tracestate: 'a=1' }),
      { localTraceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` },
    );
    expect(headers).toMatchObject({
      authorization: 'Bearer abc',
      tracestate: 'a=1',
      'x-correlation-id': 'corr-1',
      'x-forwarded-for': '10.0.0.7',
    });
    expect(traceIdOf(headers.traceparent)).toBe(trace);
    expect(headers.traceparent).not.toContain('00f067aa0ba902b7');
  });

  it('joins the service own span when the caller sent no trace, else starts one', () => {
    const local = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    expect(callerHeaders(ctx({ 'x-cyber-token': 'k' }), { localTraceparent: local })).toMatchObject({
      'x-cyber-token': 'k',
      traceparent: local,
    });
    const fresh = callerHeaders(ctx({}), { localTraceparent: 'garbage' }).traceparent;
    expect(traceIdOf(fresh)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses malformed and all-zero trace ids', () => {
    expect(traceIdOf(`00-${'0'.repeat(32)}-${'2'.repeat(16)}-01`)).toBeNull();
    expect(traceIdOf(`ff-${trace}-${'2'.repeat(16)}-01`)).toBeNull();
    expect(traceIdOf(undefined)).toBeNull();
  });
});
