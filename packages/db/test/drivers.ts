// The drivers every database suite runs against. PostgreSQL comes from CYBER_DATABASE_URL (scripts/infra.sh
// writes it to .infra/env, which vitest loads); when it is missing the PostgreSQL suites fail, not skip.
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from '../src/testing.js';

/** Both drivers, PostgreSQL first. */
export const DRIVERS = ['pg', 'pglite'] as const;

/** A throwaway database of the given driver. */
export function openTestDatabase(
  driver: (typeof DRIVERS)[number],
  options: Omit<TestDatabaseOptions, 'driver' | 'adminUrl'> = {},
): Promise<TestDatabase> {
  return createTestDatabase({ driver, adminUrl: process.env.CYBER_DATABASE_URL, ...options });
}
