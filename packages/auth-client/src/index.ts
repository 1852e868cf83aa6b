export {
  createVerifier,
  type AuthenticateOptions,
  type SessionAlgorithm,
  type Verifier,
  type VerifierLogger,
  type VerifierOptions,
} from './verifier.js';
export { requireRole, type VerifiedIdentity } from './identity.js';
export { RevocationMessage, decodeRevocation, encodeRevocation, revocationChannel } from './revocation.js';
