// Entry of the billing module (`billing.*`, `usage.summary`, the Kafka usage sink), owned by the billing work.
// app.ts calls billingModule(services), serves its handlers, calls `start` once ready and `close` on shutdown.
// Until the module is filled in it serves no methods.
import type { AuthModule, AuthServices } from '../services.js';

/** The billing module. */
export function billingModule(_services: AuthServices): AuthModule {
  return { handlers: {} };
}
