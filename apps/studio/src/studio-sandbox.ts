// Runs in the standalone studio: the real Docker sandbox when the engine answers and the sandbox images exist
// (SandboxRunner.check), otherwise a stand-in that refuses every run with the reason, so the IDE explains
// why instead of answering method_not_found.
import { startSandboxRunner, type SandboxDeps } from '@cyber/api';
import type { ApiConfig } from '@cyber/config';
import { RpcError } from '@cyber/contract';

/** The studio's sandbox: what the gateway runs with, whether runs work, and how to close it. */
export interface StudioSandbox {
  deps: SandboxDeps;
  /** Undefined when runs work; otherwise why they are refused (printed at start). */
  unavailable: string | undefined;
  close(): Promise<void>;
}

/** Opens the Docker sandbox from the gateway's sandbox settings, or the refusing stand-in. */
export async function openStudioSandbox(config: ApiConfig['sandbox']): Promise<StudioSandbox> {
  // The same runner, maxima and network settings as the gateway's main.ts.
  const { runner, maxima } = startSandboxRunner(config);
  try {
    await runner.check();
    return { deps: { runner, maxima }, unavailable: undefined, close: () => runner.close() };
  } catch (error) {
    await runner.close().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    const message = `Runs are off in this studio: ${reason}`;
    return {
      deps: {
        maxima,
        runner: {
          run: () => Promise.reject(new RpcError('sandbox_unavailable', { message })),
        },
      },
      unavailable: reason,
      close: () => Promise.resolve(),
    };
  }
}
