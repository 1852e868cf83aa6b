// createDatabase's PGlite-on-disk path, as standalone mode uses it. Costs one initdb (10-15 s), so it is the
// only test that opens PGlite cold; every other PGlite test loads the cached migrated template.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersRepository, createDatabase, migrate } from '../src/index.js';

describe('PGlite on disk', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cyber-pglite-disk-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it(
    'creates the data directory, migrates, and keeps data across a restart',
    { timeout: 90_000 },
    async () => {
      const dataDir = join(root, 'nested', 'pglite');
      const first = await createDatabase({ driver: 'pglite', dataDir });
      try {
        await migrate(first.db);
        await new UsersRepository(first.db).create({
          username: 'persisted',
          password_hash: 'x',
          balance: 2 ** 40,
        });
      } finally {
        await first.close();
      }
      const second = await createDatabase({ driver: 'pglite', dataDir });
      try {
        expect((await migrate(second.db)).applied).toEqual([]);
        const user = await new UsersRepository(second.db).findByUsername('persisted');
        expect(user?.balance).toBe(2 ** 40);
      } finally {
        await second.close();
      }
    },
  );
});
