// @cyber/metering: the Redis half of token metering (DESIGN.md "Token metering"). PostgreSQL stays the truth;
// this package only holds the cached balance, open reservations and rate windows, one Lua script per step.
export {
  MeterStore,
  type HeldReservation,
  type MeterSnapshot,
  type RateLimits,
  type ReserveOutcome,
  type ReserveRequest,
} from './meter-store.js';
