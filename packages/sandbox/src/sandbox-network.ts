// The Docker network sandboxes join when an admin gives runs a network. It is a bridge of their own, never the
// engine's default bridge and never a network the services or data stores are on: Docker isolates bridge
// networks from one another, so code in a sandbox can reach the outside world but not PostgreSQL, Redis, Kafka
// or the services (and compose publishes their ports on the host's loopback only). Inter-container traffic on
// it is off, so two users' sandboxes cannot talk to each other either.
import { RpcError } from '@cyber/contract';
import type Docker from 'dockerode';
import { SANDBOX_LABEL } from './container-spec.js';
import { toSandboxError } from './sandbox-errors.js';

/** Name of the sandboxes' network unless configured otherwise. */
export const DEFAULT_SANDBOX_NETWORK = 'cyber-sandbox';

/** The bridge driver option that turns inter-container traffic off. */
const ICC_OPTION = 'com.docker.network.bridge.enable_icc';

/**
 * Makes sure the sandboxes' network exists, creating it when missing. An existing network of that name is used
 * only when it is a bridge with inter-container traffic off; anything else is refused (sandbox_unavailable) so
 * a misconfigured name can never put sandboxes next to the data stores.
 */
export async function ensureSandboxNetwork(docker: Docker, name: string, socket: string): Promise<void> {
  let info: Docker.NetworkInspectInfo | undefined;
  try {
    info = await docker.getNetwork(name).inspect();
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode !== 404) throw toSandboxError(error, { socket });
  }
  if (info === undefined) {
    try {
      await docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Options: { [ICC_OPTION]: 'false' },
        Labels: { [SANDBOX_LABEL]: 'network' },
      });
      return;
    } catch (error) {
      // Another process created it between the inspect and the create: check what it made.
      if ((error as { statusCode?: unknown }).statusCode !== 409) throw toSandboxError(error, { socket });
      info = await docker.getNetwork(name).inspect();
    }
  }
  if (info.Driver !== 'bridge' || info.Options?.[ICC_OPTION] !== 'false') {
    throw new RpcError('sandbox_unavailable', {
      message:
        `Docker network ${name} is not a sandbox network (it must be a bridge with ${ICC_OPTION}=false); ` +
        'remove it or configure another name (CYBER_SANDBOX_NETWORK_NAME)',
      data: { network: name },
    });
  }
}
