import Docker from 'dockerode';

/** Creates the service's one Docker Engine client on a unix socket; pass it to {@link SandboxRunner.start}. */
export function createDockerClient(socketPath: string): Docker {
  return new Docker({ socketPath });
}
