import * as net from 'node:net';
import { SwitchyardError } from '../errors';

/**
 * Checks that `port` (0: any free one) can be bound on `host` and returns it.
 * node:cluster keys shared handles by address and port, so without this a
 * second server on a port this process already serves would silently join it.
 */
export function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(new SwitchyardError('SY_ERR_ADDRESS_IN_USE', `cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error })),
    );
    probe.listen({ port, host, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
