import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createLogger } from '../../src/logger';
import { createFrontServer, proxiedAddressOf, setTlsMaterial, type FrontServer } from '../../src/worker/front-server';
import { makeCa, makeCert, type TestCa } from '../helpers/certs';
import { readFileSync } from 'node:fs';

const log = createLogger(process.env.DEBUG_FRONT === '1' ? 'debug' : 'silent', 'worker');
let ca: TestCa;
let server: FrontServer | undefined;

beforeAll(() => {
  ca = makeCa();
});
afterAll(() => ca.remove());
afterEach(async () => {
  if (server === undefined) return;
  const closing = server;
  server = undefined;
  closing.closeAllConnections();
  await new Promise((resolve) => closing.close(resolve));
});

async function listen(front: FrontServer): Promise<number> {
  server = front;
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return (front.address() as net.AddressInfo).port;
}

test('with neither TLS nor the PROXY protocol the server is node:http as it is, with its own connection listener', () => {
  const plain = createFrontServer({}, { tls: false, proxyProtocol: false, handshakeTimeout: 1000 }, log, () => undefined);
  expect(plain.listeners('connection')).toHaveLength(1);
  expect(plain.listeners('connection')[0]?.name).not.toMatch(/^front/);
});

test('a PROXY header before the TLS handshake: the request is served over TLS and carries the header\'s address', async () => {
  const cert = makeCert(ca, 'front');
  const front = createFrontServer({}, { tls: true, proxyProtocol: true, handshakeTimeout: 2000 }, log, (request, response) => response.end(proxiedAddressOf(request.socket) ?? 'none'));
  setTlsMaterial(front, { cert: readFileSync(cert.certFile, 'utf8'), key: readFileSync(cert.keyFile, 'utf8') });
  const port = await listen(front);
  const body = await new Promise<string>((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        // The header is written once connected, and TLS starts after it (TLS writes on the raw handle would overtake a queued write).
        createConnection: (_options: unknown, created: (error: Error | null, socket: net.Socket) => void) => {
          const tcp = net.connect(port, '127.0.0.1', () => {
            tcp.write('PROXY TCP4 192.0.2.33 127.0.0.1 1234 443\r\n', () => created(null, tls.connect({ socket: tcp, servername: 'localhost', ca: ca.caPem })));
          });
          return undefined;
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve(text));
      },
    );
    request.once('error', reject);
    request.end();
  });
  expect(body).toBe('192.0.2.33');
});

test('a connection that sends nothing is cut after handshakeTimeout, before any TLS or HTTP', async () => {
  const front = createFrontServer({}, { tls: false, proxyProtocol: true, handshakeTimeout: 200 }, log, () => undefined);
  const port = await listen(front);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const tcp = net.connect(port, '127.0.0.1');
    tcp.once('close', () => resolve());
    tcp.once('error', reject);
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(150);
});

test('a PROXY header that arrives in pieces is gathered, then HTTP gets exactly the bytes after it', async () => {
  const front = createFrontServer({}, { tls: false, proxyProtocol: true, handshakeTimeout: 2000 }, log, (request, response) => {
    response.setHeader('Connection', 'close');
    response.end(`${proxiedAddressOf(request.socket) ?? 'none'} ${request.url ?? ''}`);
  });
  const pieces = ['PROXY TCP4 19', '8.51.100.9 127.0.0.1 1 2\r', '\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n'];
  // Each piece is sent once the server has read the one before: they reach the front as separate chunks.
  let next = 1;
  let client: net.Socket | undefined;
  front.on('connection', (socket: net.Socket) => {
    socket.on('data', () => {
      if (next < pieces.length) client?.write(pieces[next++] as string);
    });
  });
  const port = await listen(front);
  const answer = await new Promise<string>((resolve, reject) => {
    const tcp = net.connect(port, '127.0.0.1', () => tcp.write(pieces[0] as string));
    client = tcp;
    let text = '';
    tcp.on('data', (chunk: Buffer) => (text += chunk.toString()));
    tcp.once('close', () => resolve(text));
    tcp.once('error', reject);
  });
  expect(next).toBe(pieces.length);
  expect(answer).toMatch(/\r\n\r\n198\.51\.100\.9 \/after$/);
});
