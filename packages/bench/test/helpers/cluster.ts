/**
 * Real Switchyard clusters on port 0 for the bench's integration tests, started
 * through the server's public entry, and closed in `afterEach(closeAll)`.
 */
import { createServer, type SwitchyardOptions, type SwitchyardServer } from 'switchyard';

const servers = new Set<SwitchyardServer>();

/** Starts a cluster of two workers on 127.0.0.1 and a free port; resolves once it listens. */
export async function startCluster(options: SwitchyardOptions = {}): Promise<{ server: SwitchyardServer; port: number }> {
  const server = createServer({ port: 0, host: '127.0.0.1', workers: 2, logLevel: 'silent', ...options });
  servers.add(server);
  const port = await server.listen();
  return { server, port };
}

/** Closes every cluster started since the last call. */
export async function closeAll(): Promise<void> {
  await Promise.all([...servers].map((server) => server.close()));
  servers.clear();
}
