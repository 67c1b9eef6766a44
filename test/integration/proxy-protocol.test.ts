/**
 * proxyProtocol with real processes: a client behind a PROXY v1 or v2 header
 * (written first on its TCP connection, as HAProxy's send-proxy does) is seen
 * by its service with the header's address; a connection without one is
 * closed unanswered; and with the option off a PROXY line is just a bad request.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import WebSocket from 'ws';
import { closeAll, FIXTURES, startCluster, TestClient } from '../helpers/cluster';

afterEach(closeAll);

const recorder = { recorder: path.join(FIXTURES, 'recorder.ts') };

/** A ws client whose TCP connection starts with `header`. */
function connectBehind(port: number, header: Buffer | string): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/recorder`, {
      createConnection: () => {
        const tcp = net.connect(port, '127.0.0.1');
        // Queued until connected, so it goes out before the upgrade request.
        tcp.write(header);
        return tcp;
      },
    });
    const client = new TestClient(socket);
    socket.once('open', () => resolve(client));
    socket.once('error', reject);
  });
}

function v2Ipv4(source: readonly number[]): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  return Buffer.concat([signature, Buffer.from([0x21, 0x11, 0x00, 0x0c, ...source, 127, 0, 0, 1, 0x1f, 0x90, 0x1f, 0x90])]);
}

async function addressSeen(client: TestClient): Promise<string> {
  return (await client.json<{ remoteAddress: string }>((m) => m.type === 'welcome')).remoteAddress;
}

/** Sends raw bytes and resolves with everything the server answered before it closed the connection. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tcp = net.connect(port, '127.0.0.1', () => tcp.write(bytes));
    let answer = '';
    tcp.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    tcp.once('close', () => resolve(answer));
    tcp.once('error', reject);
  });
}

test('the service sees the address of a PROXY v1 or v2 header; a connection without one is closed unanswered', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1, proxyProtocol: true });
  expect(await addressSeen(await connectBehind(port, 'PROXY TCP4 203.0.113.9 127.0.0.1 40000 8080\r\n'))).toBe('203.0.113.9');
  expect(await addressSeen(await connectBehind(port, v2Ipv4([198, 51, 100, 7])))).toBe('198.51.100.7');
  // Plain HTTP requests on such a connection too.
  const health = await rawExchange(port, 'PROXY TCP4 203.0.113.9 127.0.0.1 40000 8080\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(health).toMatch(/^HTTP\/1\.1 200 /);
  expect(await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe('');
  await expect(new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/recorder`);
    socket.once('open', resolve);
    socket.once('error', reject);
  })).rejects.toThrow(/socket hang up|ECONNRESET/);
});

test('with proxyProtocol off a PROXY line is a bad request: HTTP 400, and no address is taken from it', async () => {
  const { port } = await startCluster({ services: recorder, workers: 1 });
  const answer = await rawExchange(port, 'PROXY TCP4 203.0.113.9 127.0.0.1 40000 8080\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  await expect(connectBehind(port, 'PROXY TCP4 203.0.113.9 127.0.0.1 40000 8080\r\n')).rejects.toThrow();
});
