// Running Docker and Compose from the test: the CLI that is installed (the v2 plugin or Debian 12's
// docker-compose 1.29), commands with a bounded time, and the checks on containers.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Repository root (the compose files live there). */
export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;

/** Why the compose test cannot run here, or undefined when Docker answers. */
export function dockerUnavailableReason(): string | undefined {
  try {
    execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], {
      stdio: 'pipe',
      timeout: 15_000,
    });
    return undefined;
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return `Docker is not available (${detail}); run scripts/infra.sh up to start the engine`;
  }
}

/** argv prefix of the compose CLI: `docker compose` when the plugin is there, else `docker-compose`. */
export function composeCommand(): string[] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'pipe', timeout: 15_000 });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
}

/** Output of a finished command. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Runs argv in the repository root with `env` added to the environment; rejects with its output on failure. */
export async function sh(
  argv: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('empty command');
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (error) {
    const failed = error as Error & { stdout?: string; stderr?: string };
    const tail = `${failed.stdout ?? ''}\n${failed.stderr ?? ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${argv.join(' ')} failed: ${failed.message.split('\n')[0]}\n${tail}`, { cause: error });
  }
}

/** Ids of every container (running or not) of compose project `project`. */
export async function projectContainers(project: string): Promise<string[]> {
  const { stdout } = await sh([
    'docker',
    'ps',
    '--all',
    '--quiet',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ]);
  return stdout.split('\n').filter((line) => line.trim() !== '');
}

/** State of one container as `docker inspect` reports it. */
export interface ContainerState {
  service: string;
  status: string;
  health: string | undefined;
  exitCode: number;
}

/** Service, status, health and exit code of every container of `project`. */
export async function containerStates(project: string): Promise<ContainerState[]> {
  const ids = await projectContainers(project);
  if (ids.length === 0) return [];
  const { stdout } = await sh(['docker', 'inspect', ...ids]);
  const inspected = JSON.parse(stdout) as {
    Config: { Labels: Record<string, string> };
    State: { Status: string; ExitCode: number; Health?: { Status: string } };
  }[];
  return inspected.map((container) => ({
    service: container.Config.Labels['com.docker.compose.service'] ?? '?',
    status: container.State.Status,
    health: container.State.Health?.Status,
    exitCode: container.State.ExitCode,
  }));
}

/** Gateway address of a Docker network: the host's own address on that bridge. */
export async function networkGateway(network: string): Promise<string> {
  const { stdout } = await sh([
    'docker',
    'network',
    'inspect',
    '--format',
    '{{range .IPAM.Config}}{{.Gateway}} {{end}}',
    network,
  ]);
  const gateway = stdout
    .trim()
    .split(/\s+/)
    .find((address) => /^\d+\.\d+\.\d+\.\d+$/.test(address));
  if (gateway === undefined) throw new Error(`network ${network} has no IPv4 gateway`);
  return gateway;
}
