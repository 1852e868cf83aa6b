// Networked sandboxes (an admin's choice) join a bridge of their own: they get an interface, but a stand-in data
// store on another bridge network and a second sandbox on theirs are both out of reach. The control container on
// the store's network proves the store answers, so "blocked" means isolation, not a dead listener.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_IMAGES,
  DEFAULT_PROFILE_PATH,
  SANDBOX_LABEL,
  SandboxRunner,
  ensureSandboxNetwork,
} from '../src/index.ts';
import { TEST_LIMITS, dockerClient, makeWorkspace } from './sandbox-harness.ts';

const docker = dockerClient();
const suffix = randomUUID().slice(0, 8);
const sandboxNetwork = `cyber-test-sandbox-${suffix}`;
const dataNetwork = `cyber-test-data-${suffix}`;
const created: Docker.Container[] = [];

/** A python http.server on `network`, as the sandbox user; returns its address there. */
async function listener(network: string): Promise<string> {
  const container = await docker.createContainer({
    Image: DEFAULT_IMAGES.python,
    Cmd: ['python3', '-m', 'http.server', '8080', '--bind', '0.0.0.0', '--directory', '/tmp'],
    User: '65534:65534',
    Labels: { [SANDBOX_LABEL]: 'test' },
    HostConfig: { NetworkMode: network, AutoRemove: false, LogConfig: { Type: 'none', Config: {} } },
  });
  created.push(container);
  await container.start();
  const info = await container.inspect();
  const address = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!address) throw new Error(`listener on ${network} has no address`);
  return address;
}

/** Python that tries `address:8080` for up to `seconds`, printing connected or blocked. */
function probe(address: string, seconds: number): string[] {
  return [
    'python3',
    '-c',
    [
      'import os, socket, time',
      `deadline = time.time() + ${seconds}`,
      'while True:',
      '    try:',
      `        socket.create_connection(("${address}", 8080), timeout=1); print("connected"); break`,
      '    except OSError:',
      '        if time.time() > deadline: print("blocked"); break',
      '        time.sleep(0.2)',
      'print(sorted(os.listdir("/sys/class/net")))',
    ].join('\n'),
  ];
}

describe('networked sandboxes', () => {
  const workspace = makeWorkspace();
  const runner = SandboxRunner.start({
    docker,
    profileText: readFileSync(DEFAULT_PROFILE_PATH, 'utf8'),
    defaults: TEST_LIMITS,
    maxima: TEST_LIMITS,
    network: true,
    networkName: sandboxNetwork,
  });
  let store = '';

  beforeAll(async () => {
    await docker.createNetwork({ Name: dataNetwork, Driver: 'bridge', Labels: { [SANDBOX_LABEL]: 'test' } });
    store = await listener(dataNetwork);
  }, 60_000);

  afterAll(async () => {
    await runner.close();
    for (const container of created) await container.remove({ force: true }).catch(() => undefined);
    for (const name of [sandboxNetwork, dataNetwork, `${sandboxNetwork}-icc`])
      await docker
        .getNetwork(name)
        .remove()
        .catch(() => undefined);
    workspace.cleanup();
  }, 60_000);

  it('the stand-in data store answers on its own network (control)', async () => {
    const control = await docker.createContainer({
      Image: DEFAULT_IMAGES.python,
      Cmd: probe(store, 10),
      User: '65534:65534',
      Labels: { [SANDBOX_LABEL]: 'test' },
      HostConfig: { NetworkMode: dataNetwork },
    });
    created.push(control);
    await control.start();
    await control.wait();
    const logs = (await control.logs({ stdout: true, stderr: true })).toString('utf8');
    expect(logs).toContain('connected');
  }, 60_000);

  it('joins its own bridge network with inter-container traffic off, created on first use', async () => {
    const result = await runner.run({
      language: 'python',
      command: probe(store, 3),
      workspaceDir: workspace.dir,
    });
    expect(result.verdict).toBe('ok');
    // It has a network interface, but the data store on the other bridge is unreachable.
    expect(result.stdout).toContain("'eth0'");
    expect(result.stdout).toContain('blocked');
    const info = await docker.getNetwork(sandboxNetwork).inspect();
    expect(info.Driver).toBe('bridge');
    expect(info.Options?.['com.docker.network.bridge.enable_icc']).toBe('false');
  }, 60_000);

  it('cannot reach another sandbox on its own network', async () => {
    const neighbour = await listener(sandboxNetwork);
    const result = await runner.run({
      language: 'python',
      command: probe(neighbour, 3),
      workspaceDir: workspace.dir,
    });
    expect(result.stdout).toContain('blocked');
  }, 60_000);

  it('refuses a network of that name that is not a sandbox network', async () => {
    const name = `${sandboxNetwork}-icc`;
    await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: { [SANDBOX_LABEL]: 'test' } });
    await expect(ensureSandboxNetwork(docker, name, 'test socket')).rejects.toMatchObject({
      key: 'sandbox_unavailable',
      data: { network: name },
    });
  });
});
