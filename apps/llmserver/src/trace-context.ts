// The W3C trace context of an incoming request: its trace id goes on the usage event (and tokens_used row).

// version-traceid-parentid-flags; version ff is invalid and an all-zero trace id means "none".
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The trace id of a W3C `traceparent` header, or null when it is absent or malformed. */
export function traceIdOf(traceparent: string | string[] | undefined): string | null {
  if (typeof traceparent !== 'string') return null;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match?.[2] || match[1] === 'ff' || /^0+$/.test(match[2])) return null;
  return match[2];
}
