import { z } from 'zod';
import { defineMethod } from '../define-method.js';

/** Methods every service answers; used by health checks, smoke tests and the conformance suite. */
export const systemMethods = {
  'system.ping': defineMethod({
    description: 'Liveness check that needs no identity; echoes an optional payload.',
    access: 'public',
    params: z.strictObject({ echo: z.string().max(1024).optional() }).default({}),
    result: z.object({ pong: z.literal(true), echo: z.string().optional(), time: z.iso.datetime() }),
  }),
} as const;
