// Model actions are audited by auth, the owner of the audit log: llmserver calls auth's internal
// `audit.record` with the calling admin's own credential, so the actor is the admin who asked and never a
// name llmserver chooses. The policy is fail closed: the handlers record BEFORE acting, and when auth cannot
// record, the action is not performed (`service_unavailable` naming auth). An unaudited model action would be
// the one kind of admin action the log misses.
import { RpcError } from '@cyber/contract';
import { callerHeaders, type RpcContext } from '@cyber/rpc-server';

/** Model actions llmserver reports (the contract's ReportedAuditAction). */
export type ModelAuditAction =
  'model.register' | 'model.download' | 'model.load' | 'model.unload' | 'model.delete';

/** Flat facts about an action: what `audit.record` accepts (strings of at most 512 characters). */
export type AuditDetails = Record<string, string | number | boolean | null>;

/** One audited action. */
export interface AuditReport {
  action: ModelAuditAction;
  /** The model's name. */
  targetId: string;
  details: AuditDetails;
}

/** What the reporter needs of a handler's context: the caller's request, its signal and correlation id. */
export type AuditContext = Pick<RpcContext<unknown>, 'request' | 'signal' | 'correlationId'>;

/** Reports model actions to auth's audit log. */
export interface AuditReporter {
  /**
   * Records an action on behalf of the caller of `ctx`.
   * @throws RpcError `service_unavailable` (data.service `auth`) when auth cannot record it; `unauthenticated`
   * or `forbidden` when auth refuses the caller's credential.
   */
  record(ctx: AuditContext, entry: AuditReport): Promise<void>;
}

/** Options of {@link createAuditReporter}. */
export interface AuditReporterOptions {
  /** Base URL of the auth service (its JSON-RPC endpoint is `/rpc` under it). */
  authUrl: string;
  /** fetch implementation; the global one by default. */
  fetch?: typeof fetch;
  /** How long auth may take to answer (default 5 s); the action waits for it. */
  timeoutMs?: number;
}

const MAX_DETAIL_LENGTH = 512;

function flat(details: AuditDetails): AuditDetails {
  const result: AuditDetails = {};
  for (const [key, value] of Object.entries(details)) {
    result[key] =
      typeof value === 'string' && value.length > MAX_DETAIL_LENGTH
        ? value.slice(0, MAX_DETAIL_LENGTH)
        : value;
  }
  return result;
}

function wireErrorOf(body: unknown): { code: number; message: string; data?: unknown } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null) return undefined;
  if (!('code' in error) || typeof error.code !== 'number') return undefined;
  if (!('message' in error) || typeof error.message !== 'string') return undefined;
  return { code: error.code, message: error.message, data: 'data' in error ? error.data : undefined };
}

/** An {@link AuditReporter} that calls auth's `audit.record` over HTTP. */
export function createAuditReporter(options: AuditReporterOptions): AuditReporter {
  const url = new URL('/rpc', options.authUrl).toString();
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const unavailable = (reason: string, cause?: unknown): RpcError =>
    new RpcError('service_unavailable', {
      message: 'The auth service could not record this action in the audit log, so it was not performed',
      data: { service: 'auth', reason },
      cause,
    });

  return {
    async record(ctx, entry) {
      const params = { action: entry.action, targetId: entry.targetId, details: flat(entry.details) };
      let body: unknown;
      try {
        const response = await doFetch(url, {
          method: 'POST',
          headers: callerHeaders(ctx),
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'audit.record', params }),
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
        });
        body = await response.json().catch((error: unknown) => {
          throw unavailable(`HTTP ${response.status} without a JSON-RPC answer`, error);
        });
      } catch (error) {
        if (ctx.signal.aborted) throw new RpcError('cancelled', { cause: error });
        if (error instanceof RpcError) throw error;
        throw unavailable('unreachable', error);
      }
      const wire = wireErrorOf(body);
      if (wire !== undefined) {
        const refused = RpcError.fromWire(wire);
        // The caller's own credential was refused (revoked key, role lowered since): their error, not auth's.
        if (refused.key === 'unauthenticated' || refused.key === 'forbidden') throw refused;
        throw unavailable(`audit.record failed: ${refused.key}`, refused);
      }
      const result = typeof body === 'object' && body !== null && 'result' in body ? body.result : undefined;
      if (
        typeof result !== 'object' ||
        result === null ||
        !('recorded' in result) ||
        result.recorded !== true
      ) {
        throw unavailable('audit.record answered without recorded: true');
      }
    },
  };
}
