// Admin grants: the balance change, its balance_grants row and its audit row commit together. An idempotency
// key makes a retried grant return the first result instead of applying twice.
import { RpcError, type GrantKind } from '@cyber/contract';
import {
  InsufficientBalanceError,
  UserNotFoundError,
  UsersRepository,
  type BalanceGrant,
  type DB,
} from '@cyber/db';
import type { Kysely } from 'kysely';
import { recordAudit, type AuditActor } from '../audit/index.js';
import { BillingRepository, GrantKeyTakenError } from './billing.repository.js';

/** Options of {@link grantBalance}. */
export interface GrantOptions {
  userId: number;
  kind: GrantKind;
  /** Micro-credits, > 0. */
  amount: number;
  reason: string;
  idempotencyKey: string | undefined;
  actor: AuditActor;
}

function sameGrant(existing: BalanceGrant, options: GrantOptions): boolean {
  const delta = options.kind === 'credit' ? options.amount : -options.amount;
  return existing.user_id === options.userId && existing.amount === delta;
}

async function replay(
  db: Kysely<DB>,
  options: GrantOptions & { idempotencyKey: string },
): Promise<BalanceGrant> {
  const existing = await new BillingRepository(db).findGrantByKey(options.idempotencyKey);
  if (existing === undefined) throw new RpcError('conflict', { message: 'Idempotency key in use' });
  if (!sameGrant(existing, options)) {
    throw new RpcError('conflict', { message: 'Idempotency key already used for a different grant' });
  }
  return existing;
}

/** Applies a credit or debit (or returns the first result of a repeated idempotency key). */
export async function grantBalance(db: Kysely<DB>, options: GrantOptions): Promise<BalanceGrant> {
  const { idempotencyKey } = options;
  if (idempotencyKey !== undefined) {
    const existing = await new BillingRepository(db).findGrantByKey(idempotencyKey);
    if (existing !== undefined) return replay(db, { ...options, idempotencyKey });
  }
  const delta = options.kind === 'credit' ? options.amount : -options.amount;
  try {
    return await db.transaction().execute(async (trx) => {
      const balanceAfter = await new UsersRepository(trx).adjustBalance({ userId: options.userId, delta });
      const grant = await new BillingRepository(trx).insertGrant({
        userId: options.userId,
        amount: delta,
        balanceAfter,
        reason: options.reason,
        actorUserId: options.actor.userId,
        idempotencyKey: idempotencyKey ?? null,
      });
      await recordAudit(trx, {
        actor: options.actor,
        action: 'billing.grant',
        targetType: 'balance',
        targetId: options.userId,
        details: {
          grantId: grant.id,
          kind: options.kind,
          amount: options.amount,
          reason: options.reason,
          balanceAfter,
        },
      });
      return grant;
    });
  } catch (error) {
    if (error instanceof InsufficientBalanceError) {
      throw new RpcError('precondition_failed', {
        message: 'Debit larger than the balance; balances never go negative',
        data: { balance: error.balance, amount: options.amount },
      });
    }
    if (error instanceof UserNotFoundError) throw new RpcError('not_found', { message: 'No such user' });
    // Two retries of one grant raced: the loser returns the winner's result.
    if (error instanceof GrantKeyTakenError && idempotencyKey !== undefined) {
      return replay(db, { ...options, idempotencyKey });
    }
    throw error;
  }
}
