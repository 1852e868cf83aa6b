import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { requireInfra } from './infra-env.ts';

describe('Docker engine from scripts/infra.sh', () => {
  it('answers `docker info` on the socket and reports its server version', async () => {
    const docker = new Docker({ socketPath: requireInfra('CYBER_DOCKER_SOCKET') });

    const info = (await docker.info()) as { ServerVersion?: unknown; ID?: unknown };
    expect(typeof info.ServerVersion).toBe('string');
    expect(info.ServerVersion).toMatch(/^\d+\.\d+/);

    const version = await docker.version();
    expect(version.Version).toBe(info.ServerVersion);
    expect(version.ApiVersion).toMatch(/^1\.\d+$/);
  });
});
