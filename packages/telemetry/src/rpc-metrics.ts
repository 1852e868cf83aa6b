// JSON-RPC calls by method: every call to /rpc is one HTTP series, so rate, errors and latency per method come
// from the RPC server's onCallEnd hook instead. The server already collapses names outside the contract to
// `unknown`, so the label sets stay bounded by the contract and the error keys.
import { Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from './http-metrics.js';

/** One finished call, as @cyber/rpc-server's `onCallEnd` reports it (structurally; no import of that package). */
export interface RpcCallObservation {
  /** Contract method name, or `unknown`. */
  method: string;
  /** `ok` or the error key the caller got. */
  outcome: string;
  /** How long the call took. */
  durationSeconds: number;
}

/** What a service's RPC server records. */
export interface RpcServerMetrics {
  /** `rpc_server_call_duration_seconds{method,outcome}`: its `_count` is the call rate, outcome != ok the errors. */
  callDuration: Histogram<'method' | 'outcome'>;
  /** Records one call: pass it as the rpcServer plugin's `onCallEnd`. */
  onCallEnd: (call: RpcCallObservation) => void;
}

/** Creates the JSON-RPC call metrics on `registry` (once per registry). */
export function createRpcServerMetrics(registry: Registry): RpcServerMetrics {
  const callDuration = new Histogram({
    name: 'rpc_server_call_duration_seconds',
    help: 'Duration of JSON-RPC calls served (HTTP and WebSocket, each batch member), by method and outcome (ok or the error key).',
    labelNames: ['method', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return {
    callDuration,
    onCallEnd: (call) => {
      callDuration.observe({ method: call.method, outcome: call.outcome }, call.durationSeconds);
    },
  };
}
