// Entry of the keys module (API keys, `keys.*`, `auth.introspect`, revocation broadcasts), owned by the keys
// work. app.ts calls keysModule(services) and uses its `resolveApiKey` for `X-Cyber-Token`. Until the module
// is filled in it serves no methods and has no resolver, so API keys are refused as unauthenticated.
import type { AuthModule, AuthServices } from '../services.js';

/** The keys module. */
export function keysModule(_services: AuthServices): AuthModule {
  return { handlers: {} };
}
