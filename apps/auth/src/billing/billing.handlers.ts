// billing.* and usage.*: callers see their own balance and usage; admins anyone's, and grant.
import { RpcError } from '@cyber/contract';
import type { UsageRow } from '@cyber/contract';
import { auditActorOf } from '../audit/index.js';
import type { AuthHandlers, AuthIdentity } from '../auth-types.js';
import { decodeCursor, encodeCursor } from '../paging.js';
import type { AuthServices } from '../services.js';
import { BillingRepository } from './billing.repository.js';
import { grantBalance } from './billing.service.js';

/** Micro-credits held by in-flight LLM requests of a user (llmserver's reservations). */
export type ReservedOf = (userId: number) => Promise<number>;

/** llmserver's balance cache in Redis (@cyber/metering's MeterStore). */
export interface BalanceCache {
  /** Micro-credits held by open reservations. */
  reservedOf(userId: number): Promise<number>;
  /** Marks the cached balance stale, so llmserver rebuilds it from PostgreSQL before the next reservation. */
  invalidate(userId: number): Promise<void>;
}

function callerOf(identity: AuthIdentity | undefined): AuthIdentity {
  if (identity === undefined) throw new RpcError('unauthenticated');
  return identity;
}

/** The user a caller may look at: its own, or with an admin any given one. */
function subjectOf(caller: AuthIdentity, userId: number | undefined): number {
  if (userId === undefined || userId === caller.id) return caller.id;
  if (caller.role !== 'admin')
    throw new RpcError('forbidden', { message: 'Only admins may see other users’ billing' });
  return userId;
}

function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** Options of {@link billingHandlersWith}. */
export interface BillingHandlersOptions {
  services: AuthServices;
  /**
   * llmserver's balance cache: billing.balance reports its open reservations, and every grant invalidates it
   * (a debit must never leave llmserver spending a balance that is gone). Without one, nothing is reserved.
   */
  balanceCache?: BalanceCache;
}

/** The handlers of `billing.*` and `usage.summary`. */
export function billingHandlersWith(options: BillingHandlersOptions): AuthHandlers {
  const { services } = options;
  const cache = options.balanceCache;
  const reservedOf: ReservedOf = async (userId) => {
    if (cache === undefined) return 0;
    try {
      return await cache.reservedOf(userId);
    } catch (error) {
      services.logger.warn({ err: error, userId }, 'billing: reservations unknown (Redis unreachable)');
      throw new RpcError('service_unavailable', {
        message: 'Open reservations cannot be read right now',
        data: { service: 'redis' },
      });
    }
  };
  const repository = new BillingRepository(services.db);

  return {
    'billing.balance': async (params, ctx) => {
      const userId = subjectOf(callerOf(ctx.identity), params.userId);
      const balance = await repository.balanceOf(userId);
      if (balance === undefined) throw new RpcError('not_found', { message: 'No such user' });
      const reserved = await reservedOf(userId);
      return {
        userId,
        balance,
        reserved,
        available: Math.max(0, balance - reserved),
        asOf: services.clock().toISOString(),
      };
    },

    'billing.grant': async (params, ctx) => {
      const grant = await grantBalance(services.db, {
        userId: params.userId,
        kind: params.kind,
        amount: params.amount,
        reason: params.reason,
        idempotencyKey: params.idempotencyKey,
        actor: auditActorOf(ctx),
      });
      if (cache !== undefined) {
        try {
          await cache.invalidate(grant.user_id);
        } catch (error) {
          // The grant is committed; llmserver keeps the old cached balance until its next rebuild.
          services.logger.error(
            { err: error, userId: grant.user_id },
            'billing: grant committed but the LLM balance cache could not be invalidated',
          );
        }
      }
      return {
        grantId: grant.id,
        userId: grant.user_id,
        kind: grant.amount > 0 ? 'credit' : 'debit',
        amount: Math.abs(grant.amount),
        balance: grant.balance_after,
        createdAt: grant.created_at.toISOString(),
      };
    },

    'usage.summary': async (params, ctx) => {
      const caller = callerOf(ctx.identity);
      // Non-admins only ever see their own usage; admins everyone's unless they name a user.
      const userId = caller.role === 'admin' ? params.userId : subjectOf(caller, params.userId);
      const today = services.clock();
      const from = params.from ?? utcDay(new Date(today.getTime() - 30 * 86_400_000));
      const to = params.to ?? utcDay(today);
      const offset = decodeCursor(params.cursor) ?? 0;
      const filter = { from, to, userId, model: params.model };
      const [rows, totals] = await Promise.all([
        repository.usageSummary({ ...filter, groupBy: params.groupBy, offset, limit: params.limit }),
        repository.usageTotals(filter),
      ]);
      const page = rows.slice(0, params.limit);
      return {
        rows: page.map((row): UsageRow => ({
          ...(row.user_id !== undefined ? { userId: row.user_id } : {}),
          ...(row.model !== undefined ? { model: row.model } : {}),
          ...(row.day !== undefined ? { day: row.day } : {}),
          requests: row.requests,
          promptTokens: row.prompt_tokens,
          completionTokens: row.completion_tokens,
          totalTokens: row.prompt_tokens + row.completion_tokens,
          cost: row.cost,
        })),
        totals: {
          requests: totals.requests,
          promptTokens: totals.prompt_tokens,
          completionTokens: totals.completion_tokens,
          totalTokens: totals.prompt_tokens + totals.completion_tokens,
          cost: totals.cost,
        },
        nextCursor: rows.length > params.limit ? encodeCursor(offset + params.limit) : null,
      };
    },
  };
}
