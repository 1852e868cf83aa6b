// A private, single-node KRaft broker for tests (entry `@cyber/usage-events/testing`): tests that must REALLY
// stop and restart Kafka use one of these, so the shared broker other test files use is never disturbed. It
// runs the same jars and the same server.properties template as scripts/infra.sh (kafka_start), on free
// loopback ports, with its own data directory formatted by StorageTool and a small heap.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

/** Options of {@link startKafkaBroker}. */
export interface KafkaBrokerOptions {
  /** Broker port on 127.0.0.1; a free one when absent. The controller always gets a free one. */
  port?: number;
  /**
   * Directory of the Kafka jars. Default `$CYBER_INFRA_STATE/kafka/lib`, where `scripts/infra.sh up` installs
   * them (CYBER_INFRA_STATE defaults to /var/lib/cyberdevstudio-infra, as in the script).
   */
  libDir?: string;
  /** How long a start may take before it fails with the log tail. Default 90 s. */
  startTimeoutMs?: number;
}

/** A running private broker. */
export interface KafkaBroker {
  /** Bootstrap address, `127.0.0.1:<port>`. */
  brokers: string[];
  /** The broker's temp directory (data, properties, log). */
  dir: string;
  /** Stops the broker: SIGTERM (or SIGKILL with `kill`), then waits for the process to exit. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same data directory and ports; resolves once it answers a metadata request. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

const TEMPLATE = fileURLToPath(new URL('../../../infra/kafka/server.properties', import.meta.url));
const STOP_TIMEOUT_MS = 30_000;

/** Starts a private broker and waits until it answers. Always `close()` it (afterAll). */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const libDir =
    options.libDir ?? join(process.env.CYBER_INFRA_STATE ?? '/var/lib/cyberdevstudio-infra', 'kafka', 'lib');
  const classpath = join(libDir, '*');
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const port = options.port ?? (await freePort());
  const controllerPort = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'cyber-kafka-'));
  const properties = join(dir, 'server.properties');
  const logPath = join(dir, 'kafka.log');
  const template = await readFile(TEMPLATE, 'utf8').catch((error: unknown) => {
    throw new Error(`cannot read the broker template ${TEMPLATE}`, { cause: error });
  });
  await writeFile(
    properties,
    template
      .replaceAll('@PORT@', String(port))
      .replaceAll('@CONTROLLER_PORT@', String(controllerPort))
      .replaceAll('@DATA_DIR@', join(dir, 'data')),
  );
  // A cluster id is a Kafka Uuid: 16 random bytes, base64url without padding (saves a JVM start). Like Kafka's
  // own Uuid.randomUuid, never one starting with '-': the tool's argument parser reads that as an option (CI
  // once failed with "argument --cluster-id/-t: expected one argument", a 1-in-64 chance per broker).
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  await runJava(
    ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', properties],
    logPath,
  ).catch(async (error: unknown) => {
    throw new Error(
      `${(error as Error).message} (jars in ${libDir}: run scripts/infra.sh up)\n${await tail(logPath)}`,
    );
  });

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  // A test runner that dies must not leave a JVM behind.
  const killOnExit = (): void => void child?.kill('SIGKILL');
  process.on('exit', killOnExit);

  async function start(): Promise<void> {
    if (child) return;
    const log = await open(logPath, 'a');
    const spawned = spawn(
      'java',
      [
        '-Xms64m',
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        '-Djava.awt.headless=true',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
        '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn',
        '-cp',
        classpath,
        'kafka.Kafka',
        properties,
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    await log.close();
    child = spawned;
    exited = new Promise((resolve) => {
      spawned.once('exit', () => resolve());
      // No java on PATH: 'error' instead of 'exit'; startup then fails with the log tail.
      spawned.once('error', () => resolve());
    });
    void exited.then(() => {
      if (child === spawned) child = null;
    });
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child !== spawned)
        throw new Error(`the private Kafka broker exited during startup\n${await tail(logPath)}`);
      if (await answersMetadata(port)) return;
      if (Date.now() > deadline) {
        await stop({ kill: true });
        throw new Error(
          `the private Kafka broker gave no metadata answer on 127.0.0.1:${port} within ${startTimeoutMs} ms\n${await tail(logPath)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function stop(stopOptions: { kill?: boolean } = {}): Promise<void> {
    const running = child;
    if (!running) return;
    running.kill(stopOptions.kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  await start();
  return {
    brokers: [`127.0.0.1:${port}`],
    dir,
    start,
    stop,
    async close() {
      await stop();
      process.off('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A port that was free a moment ago (the OS picks it; the broker binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

async function answersMetadata(port: number): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'cyber-test-broker-probe',
    brokers: [`127.0.0.1:${port}`],
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function runJava(args: string[], logPath: string): Promise<void> {
  const log = await open(logPath, 'a');
  try {
    const child = spawn('java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', ...args], {
      stdio: ['ignore', log.fd, log.fd],
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) throw new Error(`java ${args.slice(2, 4).join(' ')} exited with ${code}`);
  } finally {
    await log.close();
  }
}

async function tail(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return `--- last lines of ${path} ---\n${text.split('\n').slice(-40).join('\n')}`;
}

/** The shared broker that `scripts/infra.sh up` starts (CYBER_KAFKA_BROKERS); throws saying so when unset. */
export function sharedKafkaBrokers(): string[] {
  const value = process.env.CYBER_KAFKA_BROKERS;
  if (!value) {
    throw new Error('CYBER_KAFKA_BROKERS is not set: run `scripts/infra.sh up` (writes .infra/env).');
  }
  return value.split(',');
}

/** A topic or consumer group name no other test (or test run) on the shared broker uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${randomBytes(4).toString('hex')}`;
}
