// The smoke tests prove that the services started by scripts/infra.sh answer. They are mandatory:
// a missing setting fails the test with instructions instead of skipping it.

/** Names of the settings that `scripts/infra.sh up` writes to `.infra/env`. */
export type InfraVariable =
  | 'CYBER_REDIS_URL'
  | 'CYBER_KAFKA_BROKERS'
  | 'CYBER_DOCKER_SOCKET'
  | 'CYBER_DATABASE_URL'
  | 'CYBER_CHROMIUM_PATH';

/** Returns the infra setting `name`, or throws an error that says how to provide it. */
export function requireInfra(name: InfraVariable): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(
      `${name} is not set. The smoke tests need the real services: run \`scripts/infra.sh up\` ` +
        '(it writes .infra/env, which vitest loads) or export the variable.',
    );
  }
  return value.trim();
}

/** A name no other test run uses, for keys, topics and groups that the test removes again. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Resolves with `promise`, or rejects with `message` after `ms` milliseconds. */
export async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (after ${ms} ms)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
