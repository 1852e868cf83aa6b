// The same schema and repository suite on PostgreSQL and PGlite.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InsufficientBalanceError,
  Int8RangeError,
  UserNotFoundError,
  UsernameTakenError,
  UsersRepository,
  isCheckViolation,
  isUniqueViolation,
} from '../src/index.js';
import type { TestDatabase } from '../src/testing.js';
import { DRIVERS, openTestDatabase } from './drivers.js';

describe.each(DRIVERS)('schema and UsersRepository on %s', (driver) => {
  let database: TestDatabase;
  let users: UsersRepository;
  let counter = 0;
  const uniqueName = (prefix: string) => `${prefix}-${++counter}`;

  beforeAll(async () => {
    database = await openTestDatabase(driver);
    users = new UsersRepository(database.db);
  });

  afterAll(async () => {
    await database?.close();
  });

  async function newModel(costPerToken = 2) {
    return database.db
      .insertInto('models')
      .values({
        name: uniqueName('model'),
        context_size: 2048,
        cost_per_token: costPerToken,
        source_url: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  it('has the original columns with their types', async () => {
    const columns = await database.db
      .withoutPlugins()
      .selectFrom(
        sql<{
          table_schema: string;
          table_name: string;
          column_name: string;
          data_type: string;
        }>`information_schema.columns`.as('c'),
      )
      .select(['table_name', 'column_name', 'data_type'])
      .where('table_schema', '=', 'public')
      .where('table_name', 'in', ['users', 'models', 'tokens_used'])
      .execute();
    const byTable = (table: string) =>
      Object.fromEntries(
        columns.filter((c) => c.table_name === table).map((c) => [c.column_name, c.data_type]),
      );
    expect(byTable('users')).toMatchObject({
      id: 'bigint',
      username: 'text',
      password_hash: 'text',
      role: 'text',
      api_key_hash: 'text',
      balance: 'bigint',
      created_at: 'timestamp with time zone',
    });
    expect(byTable('models')).toMatchObject({
      id: 'bigint',
      name: 'text',
      context_size: 'integer',
      cost_per_token: 'bigint',
      source_url: 'text',
      created_at: 'timestamp with time zone',
    });
    expect(byTable('tokens_used')).toMatchObject({
      id: 'bigint',
      event_id: 'uuid',
      user_id: 'bigint',
      model_id: 'bigint',
      prompt_tokens: 'integer',
      completion_tokens: 'integer',
      cost: 'bigint',
      trace_id: 'text',
      created_at: 'timestamp with time zone',
    });
  });

  it('documents the money unit on every money column', async () => {
    const { rows } = await sql<{ column: string; comment: string | null }>`
      select c.table_name || '.' || c.column_name as column,
             col_description((c.table_schema || '.' || c.table_name)::regclass, c.ordinal_position) as comment
      from information_schema.columns c
      where c.table_schema = 'public'
        and (c.table_name, c.column_name) in (('users', 'balance'), ('models', 'cost_per_token'), ('tokens_used', 'cost'))
    `.execute(database.db);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.comment, row.column).toContain('1 unit = 0.000001 credit');
  });

  it('creates a user with a viewer role, zero balance and numeric id, and finds it', async () => {
    const created = await users.create({ username: uniqueName('ada'), password_hash: 'x' });
    expect(created).toMatchObject({ role: 'viewer', balance: 0, api_key_hash: null });
    expect(typeof created.id).toBe('number');
    expect(created.created_at).toBeInstanceOf(Date);
    expect(await users.findById(created.id)).toEqual(created);
    expect(await users.findByUsername(created.username)).toEqual(created);
    expect(await users.findByUsername('nobody')).toBeUndefined();
  });

  it('refuses a duplicate username', async () => {
    const username = uniqueName('grace');
    await users.create({ username, password_hash: 'x' });
    await expect(users.create({ username, password_hash: 'y' })).rejects.toBeInstanceOf(UsernameTakenError);
  });

  it('refuses a role outside admin, developer, viewer', async () => {
    const error: unknown = await database.db
      .insertInto('users')
      .values({ username: uniqueName('root'), password_hash: 'x', role: 'root' as 'admin' })
      .execute()
      .catch((caught: unknown) => caught);
    expect(isCheckViolation(error, 'users_role_check')).toBe(true);
  });

  it('credits and debits a balance and refuses to take it below zero', async () => {
    const user = await users.create({ username: uniqueName('alan'), password_hash: 'x' });
    expect(await users.adjustBalance({ userId: user.id, delta: 100 })).toBe(100);
    expect(await users.adjustBalance({ userId: user.id, delta: -60 })).toBe(40);
    const refused = await users
      .adjustBalance({ userId: user.id, delta: -41 })
      .catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(InsufficientBalanceError);
    expect(refused).toMatchObject({ balance: 40, delta: -41 });
    expect((await users.findById(user.id))?.balance).toBe(40);
    await expect(users.adjustBalance({ userId: 999_999_999, delta: 1 })).rejects.toBeInstanceOf(
      UserNotFoundError,
    );
  });

  it('lets concurrent debits spend exactly the balance and no more', async () => {
    const user = await users.create({ username: uniqueName('race'), password_hash: 'x' });
    await users.adjustBalance({ userId: user.id, delta: 100 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 25 }, () => users.adjustBalance({ userId: user.id, delta: -10 })),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    expect((await users.findById(user.id))?.balance).toBe(0);
  });

  it('runs inside a caller transaction and rolls back with it', async () => {
    const user = await users.create({ username: uniqueName('tx'), password_hash: 'x' });
    await database.db
      .transaction()
      .execute(async (trx) => {
        await new UsersRepository(trx).adjustBalance({ userId: user.id, delta: 500 });
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect((await users.findById(user.id))?.balance).toBe(0);
  });

  it('rolls back to a savepoint and commits the rest', async () => {
    const user = await users.create({ username: uniqueName('savepoint'), password_hash: 'x' });
    const trx = await database.db.startTransaction().execute();
    await new UsersRepository(trx).adjustBalance({ userId: user.id, delta: 5 });
    const afterSavepoint = await trx.savepoint('grant').execute();
    await new UsersRepository(afterSavepoint).adjustBalance({ userId: user.id, delta: 1000 });
    const rolledBack = await afterSavepoint.rollbackToSavepoint('grant').execute();
    await rolledBack.commit().execute();
    expect((await users.findById(user.id))?.balance).toBe(5);
  });

  it('refuses a streamed query the same way on both drivers', async () => {
    const stream = database.db.selectFrom('users').selectAll().stream(10);
    await expect(stream.next()).rejects.toThrow(/stream|cursor/i);
    const { rows } = await sql<{ n: number }>`select 1::int as n`.execute(database.db);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('keeps a CHECK on balance even for writes that bypass the repository', async () => {
    const user = await users.create({ username: uniqueName('direct'), password_hash: 'x' });
    const error: unknown = await database.db
      .updateTable('users')
      .set({ balance: -1 })
      .where('id', '=', user.id)
      .execute()
      .catch((caught: unknown) => caught);
    expect(isCheckViolation(error, 'users_balance_non_negative')).toBe(true);
  });

  it('round-trips BIGINT money beyond 2^31 and up to 2^53 - 1 as exact numbers', async () => {
    const user = await users.create({ username: uniqueName('rich'), password_hash: 'x' });
    expect(await users.adjustBalance({ userId: user.id, delta: 2 ** 31 + 7 })).toBe(2 ** 31 + 7);
    const top = Number.MAX_SAFE_INTEGER - (2 ** 31 + 7);
    expect(await users.adjustBalance({ userId: user.id, delta: top })).toBe(Number.MAX_SAFE_INTEGER);
    const row = await database.db
      .selectFrom('users')
      .select('balance')
      .where('id', '=', user.id)
      .executeTakeFirst();
    expect(row?.balance).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses to read a BIGINT it cannot represent exactly, and keeps working afterwards', async () => {
    const read = sql<{ big: number }>`select 9007199254740993::bigint as big`.execute(database.db);
    await expect(read).rejects.toBeInstanceOf(Int8RangeError);
    const { rows } = await sql<{ n: number }>`select 1::bigint as n`.execute(database.db);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('stores a usage row once per event id; a redelivered event is rejected', async () => {
    const user = await users.create({ username: uniqueName('usage'), password_hash: 'x' });
    const model = await newModel(3_000_000_000);
    const event = {
      event_id: randomUUID(),
      user_id: user.id,
      model_id: model.id,
      prompt_tokens: 10,
      completion_tokens: 5,
      cost: 15 * 3_000_000_000,
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    };
    const stored = await database.db
      .insertInto('tokens_used')
      .values(event)
      .returningAll()
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ ...event, cost: 45_000_000_000 });
    const duplicate: unknown = await database.db
      .insertInto('tokens_used')
      .values(event)
      .execute()
      .catch((caught: unknown) => caught);
    expect(isUniqueViolation(duplicate, 'tokens_used_event_id_key')).toBe(true);
    const ignored = await database.db
      .insertInto('tokens_used')
      .values(event)
      .onConflict((oc) => oc.column('event_id').doNothing())
      .executeTakeFirst();
    expect(ignored.numInsertedOrUpdatedRows).toBe(0n);
    const { count } = await database.db
      .selectFrom('tokens_used')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('event_id', '=', event.event_id)
      .executeTakeFirstOrThrow();
    expect(count).toBe(1);
  });

  it('refuses a usage row for an unknown user', async () => {
    const model = await newModel();
    const error: unknown = await database.db
      .insertInto('tokens_used')
      .values({
        event_id: randomUUID(),
        user_id: 999_999_999,
        model_id: model.id,
        prompt_tokens: 1,
        completion_tokens: 1,
        cost: 1,
        trace_id: null,
      })
      .execute()
      .catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('23503');
  });
});
