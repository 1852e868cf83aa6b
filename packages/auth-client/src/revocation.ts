// The revocation broadcast: auth publishes on one Redis channel whenever a key stops being valid (revoked) or
// a user's standing changes (disabled, deleted, role changed); every verifier subscribes and drops what it had
// cached at once, which is how a revoked key is refused everywhere within a second although callers cache.
import { z } from 'zod';

/** Channel name under an installation's Redis key prefix (`cyber:` gives `cyber:keys:revoked`). */
export function revocationChannel(keyPrefix: string): string {
  return `${keyPrefix}keys:revoked`;
}

/** What a revocation message says. */
export const RevocationMessage = z.discriminatedUnion('type', [
  z.object({
    /** One API key stopped working. */
    type: z.literal('key'),
    keyId: z.uuid(),
    userId: z.number().int().positive(),
  }),
  z.object({
    /** Everything cached for this user is stale: disabled, deleted or a changed role. */
    type: z.literal('user'),
    userId: z.number().int().positive(),
    /** When it happened (epoch ms); session JWTs issued before then are refused until they expire. */
    at: z.number().int().nonnegative(),
  }),
]);
/** A revocation message. */
export type RevocationMessage = z.infer<typeof RevocationMessage>;

/** Encodes a message for `PUBLISH`. */
export function encodeRevocation(message: RevocationMessage): string {
  return JSON.stringify(RevocationMessage.parse(message));
}

/** Decodes a message; undefined for anything malformed (never throws in a subscriber callback). */
export function decodeRevocation(raw: string): RevocationMessage | undefined {
  try {
    const parsed = RevocationMessage.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
