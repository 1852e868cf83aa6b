// `python3 -c "print(1)"` four ways in the same run, interleaved round by round so load drift hits all alike:
//   bare cold   dockerode create + attach + start + wait + remove, same HostConfig as the runner
//   bare warm   dockerode exec into an already started container
//   runner cold SandboxRunner.run({ mode: 'cold' })
//   runner warm SandboxRunner.run() taking a pooled container (the refill is awaited outside the timing)
// Run: pnpm --filter @cyber/sandbox bench   (ROUNDS=40 by default; needs the engine and the images)
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import { containerSpec } from '../src/container-spec.ts';
import { DEFAULT_IMAGES, DEFAULT_LIMITS, DEFAULT_PROFILE_PATH, SandboxRunner } from '../src/index.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 40);
const COMMAND = ['python3', '-c', 'print(1)'];
const socketPath = process.env.CYBER_DOCKER_SOCKET ?? '/var/run/docker.sock';
const docker = new Docker({ socketPath });
const profileText = readFileSync(DEFAULT_PROFILE_PATH, 'utf8');
const workspaceDir = mkdtempSync(join(tmpdir(), 'cyber-sandbox-bench-'));
chmodSync(workspaceDir, 0o777);

function spec(cmd: string[]): Docker.ContainerCreateOptions {
  return containerSpec({
    image: DEFAULT_IMAGES.python,
    cmd,
    workspaceDir,
    limits: DEFAULT_LIMITS,
    seccompText: JSON.stringify(JSON.parse(profileText)),
    openStdin: false,
    network: false,
    role: 'cold',
  });
}

function drain(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
}

async function bareCold(): Promise<void> {
  const container = await docker.createContainer(spec(COMMAND));
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const done = drain(stream);
  await container.start();
  await container.wait();
  await done;
  await container.remove({ force: true });
}

async function bareWarm(container: Docker.Container): Promise<void> {
  const exec = await container.exec({ Cmd: COMMAND, AttachStdout: true, AttachStderr: true });
  const stream: Duplex = await exec.start({ hijack: true, stdin: false });
  await drain(stream);
  await exec.inspect();
}

function stats(samples: number[]): { median: number; p90: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9) };
}

async function main(): Promise<void> {
  const runner = SandboxRunner.start({ docker, profileText, maxima: DEFAULT_LIMITS, warmPoolSize: 1 });
  const warmContainer = await docker.createContainer(spec(['sleep', 'infinity']));
  await warmContainer.start();
  const times: Record<string, number[]> = {
    'bare cold': [],
    'bare warm': [],
    'runner cold': [],
    'runner warm': [],
  };
  const time = async (name: string, body: () => Promise<unknown>): Promise<void> => {
    const t0 = performance.now();
    await body();
    times[name]?.push(performance.now() - t0);
  };
  try {
    for (let round = -3; round < ROUNDS; round += 1) {
      const keep = round >= 0; // three warm-up rounds
      await runner.prewarm({ language: 'python', workspaceDir });
      const steps: [string, () => Promise<unknown>][] = [
        ['bare cold', bareCold],
        ['bare warm', () => bareWarm(warmContainer)],
        [
          'runner cold',
          () => runner.run({ language: 'python', command: COMMAND, workspaceDir, mode: 'cold' }),
        ],
        [
          'runner warm',
          async () => {
            const result = await runner.run({ language: 'python', command: COMMAND, workspaceDir });
            if (result.path !== 'warm' || result.stdout !== '1\n')
              throw new Error(`bad warm run: ${result.path}`);
          },
        ],
      ];
      for (const [name, body] of steps) {
        if (keep) await time(name, body);
        else await body();
      }
    }
  } finally {
    await warmContainer.remove({ force: true });
    await runner.close();
    rmSync(workspaceDir, { recursive: true, force: true });
  }
  const summary = Object.fromEntries(Object.entries(times).map(([name, samples]) => [name, stats(samples)]));
  console.log(`python3 -c "print(1)", ${ROUNDS} rounds, ms`);
  for (const [name, { median, p90 }] of Object.entries(summary)) {
    console.log(
      `${name.padEnd(12)} median ${median.toFixed(1).padStart(7)}  p90 ${p90.toFixed(1).padStart(7)}`,
    );
  }
  const ratio = (a: string, b: string): string =>
    ((summary[a]?.median ?? NaN) / (summary[b]?.median ?? NaN)).toFixed(2);
  console.log(`runner cold / bare cold  ${ratio('runner cold', 'bare cold')}x (median)`);
  console.log(`runner warm / bare warm  ${ratio('runner warm', 'bare warm')}x (median)`);
  console.log(`runner warm / bare cold  ${ratio('runner warm', 'bare cold')}x (median)`);
}

await main();
