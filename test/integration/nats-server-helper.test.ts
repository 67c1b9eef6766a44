/**
 * The nats-server test helper itself: one server on free ports with its
 * monitoring endpoint, a 3-server cluster meshed by routes, killing one
 * member, and no process left behind.
 */
import * as net from 'node:net';
import { describeWithNats, startNatsCluster, startNatsServer, stopAllNats, waitForRoutes } from '../helpers/nats-server';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the server's INFO line, read with a raw TCP client (no NATS library involved). */
function infoLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.on('error', reject);
  });
}

describeWithNats('test/integration/nats-server-helper.test.ts')('nats-server test helper', () => {
  afterEach(stopAllNats);

  test('one server on free loopback ports answers clients and /varz; a config sets max_payload', async () => {
    const server = await startNatsServer({ maxPayload: 64 * 1024 });
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const info = JSON.parse((await infoLine(server.port)).replace(/^INFO /, '')) as { max_payload: number };
    expect(info.max_payload).toBe(64 * 1024);
    const varz = await server.varz();
    expect(varz).toMatchObject({ in_msgs: 0, out_msgs: 0 });
    const pid = server.pid;
    await stopAllNats();
    expect(alive(pid)).toBe(false);
  });

  test('a 3-server cluster is meshed when it resolves; killing one leaves the others routed to each other', async () => {
    const cluster = await startNatsCluster(3);
    expect(cluster.urls).toHaveLength(3);
    expect(new Set(cluster.urls).size).toBe(3);
    for (const server of cluster.servers) expect(await server.routeCount()).toBe(2);
    const [first, second, third] = cluster.servers;
    await first?.kill();
    expect(first?.running).toBe(false);
    expect(alive(first?.pid ?? 0)).toBe(false);
    // The survivors drop the dead route (they notice the closed connection).
    const survivors = [second, third].filter((server) => server !== undefined);
    await waitForRoutes(survivors, 1);
    const pids = cluster.servers.map((server) => server.pid);
    await stopAllNats();
    expect(pids.filter(alive)).toEqual([]);
  });
});
