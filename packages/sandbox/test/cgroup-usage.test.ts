import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { readCgroupByExec, readHostCgroup } from '../src/cgroup-usage.ts';
import { DEFAULT_IMAGES } from '../src/index.ts';
import { dockerClient } from './sandbox-harness.ts';

describe('cgroup counters of a running container', () => {
  const docker = dockerClient();
  let container: Docker.Container;
  beforeAll(async () => {
    container = await docker.createContainer({
      Image: DEFAULT_IMAGES.shell,
      Cmd: ['sleep', 'infinity'],
      Labels: { 'dev.cyberdevstudio.sandbox': 'test' },
      HostConfig: { Memory: 64 * 1024 * 1024, MemorySwap: 64 * 1024 * 1024, NetworkMode: 'none', Init: true },
    });
    await container.start();
  });
  afterAll(async () => {
    await container.remove({ force: true });
  });

  it('reads the same peak and no OOM kills from the host cgroupfs and through an exec', async () => {
    const host = await readHostCgroup(container.id);
    const exec = await readCgroupByExec(container);
    expect(host).toBeDefined();
    expect(exec).toBeDefined();
    expect(exec?.oomKills).toBe(0);
    expect(host?.oomKills).toBe(0);
    expect(exec?.peakBytes).toBeGreaterThan(0);
    // The exec itself adds a little memory and CPU between the two reads.
    expect(Math.abs((exec?.peakBytes ?? 0) - (host?.peakBytes ?? 0))).toBeLessThan(8 * 1024 * 1024);
    expect(exec?.cpuNs).toBeGreaterThanOrEqual(host?.cpuNs ?? 0);
  });
});
