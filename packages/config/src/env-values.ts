// Parsers for single environment variables. Every message describes the expected shape and never the received
// value: a rejected value may be a secret, and error messages end up in logs.
import { z } from 'zod';

/** Environment variables as a process receives them (`process.env` fits). */
export type Env = Readonly<Record<string, string | undefined>>;

// An empty variable (`FOO=` in a compose file or .env) means "not set", so defaults still apply.
const unsetWhenEmpty = (value: unknown): unknown => (value === '' ? undefined : value);

/** A TCP port, 1..65535, with a default. */
export function port(defaultPort: number) {
  return z.preprocess(
    unsetWhenEmpty,
    z
      .string()
      .regex(/^\d+$/, { error: 'must be a port number (1..65535)' })
      .transform(Number)
      .pipe(
        z.number().int().min(1, { error: 'must be a port number (1..65535)' }).max(65535, {
          error: 'must be a port number (1..65535)',
        }),
      )
      .default(defaultPort),
  );
}

/** An integer within bounds, with a default. */
export function integer(options: { default: number; min: number; max?: number }) {
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  const message = `must be an integer from ${options.min} to ${max}`;
  return z.preprocess(
    unsetWhenEmpty,
    z
      .string()
      .regex(/^-?\d+$/, { error: message })
      .transform(Number)
      .pipe(z.number().int().min(options.min, { error: message }).max(max, { error: message }))
      .default(options.default),
  );
}

/** A boolean spelled strictly `true`/`false`/`1`/`0`; anything else ("yes", "on") is an error, not a guess. */
export function boolean(defaultValue: boolean) {
  return z.preprocess(
    unsetWhenEmpty,
    z
      .enum(['true', 'false', '1', '0'], { error: "must be one of 'true', 'false', '1', '0'" })
      .transform((value) => value === 'true' || value === '1')
      .default(defaultValue),
  );
}

/** An absolute URL whose protocol is one of `protocols` (without the colon), with an optional default. */
export function url(options: { protocols: readonly string[]; default?: string }) {
  const message = `must be an absolute URL (${options.protocols.map((p) => `${p}://`).join(' or ')})`;
  const schema = z.string().refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      return options.protocols.includes(new URL(value).protocol.slice(0, -1));
    },
    { error: message },
  );
  return z.preprocess(
    unsetWhenEmpty,
    options.default === undefined ? schema.optional() : schema.default(options.default),
  );
}

/** A non-empty string, with a default. */
export function text(defaultValue: string) {
  return z.preprocess(unsetWhenEmpty, z.string().default(defaultValue));
}

/** A string that may be absent (no default). */
export function optionalText() {
  return z.preprocess(unsetWhenEmpty, z.string().optional());
}

/** One of a fixed set of words, with a default. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z.preprocess(
    unsetWhenEmpty,
    z
      .enum(values, { error: `must be one of ${values.map((v) => `'${v}'`).join(', ')}` })
      .default(defaultValue),
  );
}

/** A comma-separated list of `host:port` addresses (Kafka brokers), with a default. */
export function hostPortList(defaultValue: string) {
  const message = 'must be a comma-separated list of host:port (port 1..65535)';
  return z.preprocess(
    unsetWhenEmpty,
    z
      .string()
      .default(defaultValue)
      .transform((value) => value.split(',').map((part) => part.trim()))
      .pipe(
        z
          .array(
            z.string().refine(
              (entry) => {
                const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(entry);
                const portNumber = Number(match?.[2]);
                return match !== null && portNumber >= 1 && portNumber <= 65535;
              },
              { error: message },
            ),
          )
          .min(1, { error: message }),
      ),
  );
}
