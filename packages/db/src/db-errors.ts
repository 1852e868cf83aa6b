// Both drivers raise errors shaped by pg-protocol's DatabaseError (PGlite vendors the same parser), so the
// SQLSTATE `code` and `constraint` fields identify a failure the same way on PostgreSQL and PGlite.

interface PostgresErrorFields {
  code?: unknown;
  constraint?: unknown;
}

function fields(error: unknown): PostgresErrorFields {
  return typeof error === 'object' && error !== null ? error : {};
}

/** True when `error` is a unique violation (SQLSTATE 23505), optionally of the named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const { code, constraint: actual } = fields(error);
  return code === '23505' && (constraint === undefined || actual === constraint);
}

/** True when `error` is a CHECK violation (SQLSTATE 23514), optionally of the named constraint. */
export function isCheckViolation(error: unknown, constraint?: string): boolean {
  const { code, constraint: actual } = fields(error);
  return code === '23514' && (constraint === undefined || actual === constraint);
}
