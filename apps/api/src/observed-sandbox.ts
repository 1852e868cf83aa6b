// The sandbox as the gateway's run handlers see it, observed: each run counted by verdict and language, timed,
// and recorded as a span (verdict and resources) in the trace of the run.exec request.
import type { SandboxRunner } from '@cyber/sandbox';
import { recordSandboxSpan, type SandboxMetrics } from '@cyber/telemetry';
import type { SandboxLike } from './run-handlers.js';

/** Wraps `runner` so every run is measured into `metrics` and traced. */
export function observedSandbox(runner: SandboxRunner, metrics: SandboxMetrics): SandboxLike {
  return {
    async run(request) {
      const startTime = new Date();
      const result = await runner.run(request);
      metrics.runs.inc({ verdict: result.verdict, language: request.language });
      metrics.runDuration.observe(
        { language: request.language, path: result.path },
        (Date.now() - startTime.getTime()) / 1000,
      );
      recordSandboxSpan({
        startTime,
        language: request.language,
        verdict: result.verdict,
        path: result.path,
        wallMs: result.wallMs,
        cpuMs: result.cpuMs,
        peakMemoryBytes: result.peakMemoryBytes,
      });
      return result;
    },
    prewarm: (options) => runner.prewarm(options),
  };
}
