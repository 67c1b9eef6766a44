/**
 * The size options at their maxima go through a real cluster: a body or a
 * message of `MAX_PAYLOAD_BYTES` (48 MiB, binary so that it crosses each link
 * as base64, its longest encoding) reaches the echo service and comes back.
 */
import * as path from 'node:path';
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { MAX_PAYLOAD_BYTES } from '../../src/protocol';

afterEach(closeAll);

const echo = path.join(__dirname, '..', '..', 'src', 'services', 'examples', 'echo.ts');

/** Bytes that are not valid UTF-8 (0xff never is), so they travel as binary; the last one marks the end. */
function binary(size: number): Buffer {
  const body = Buffer.alloc(size, 0xff);
  body[size - 1] = 0xfe;
  return body;
}

test('an HTTP body of maxRequestBody at its maximum reaches the service and comes back', async () => {
  const { port } = await startCluster({ services: { echo }, workers: 1, maxRequestBody: MAX_PAYLOAD_BYTES, ipcMaxQueuedBytes: 128 * 1024 * 1024 });
  const body = binary(MAX_PAYLOAD_BYTES);
  const response = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/octet-stream');
  const answer = Buffer.from(await response.arrayBuffer());
  expect(answer.length).toBe(MAX_PAYLOAD_BYTES);
  expect(answer.equals(body)).toBe(true);
  const tooBig = await fetch(`http://127.0.0.1:${port}/services/echo`, { method: 'POST', body: binary(MAX_PAYLOAD_BYTES + 1) });
  expect(tooBig.status).toBe(413);
  await tooBig.text();
}, 60_000);

test('a binary WebSocket message of maxPayload at its maximum is echoed back', async () => {
  const { port } = await startCluster({ services: { echo }, workers: 1, maxPayload: MAX_PAYLOAD_BYTES, maxBufferedBytes: 128 * 1024 * 1024, ipcMaxQueuedBytes: 128 * 1024 * 1024 });
  const client = await connect(port, '/echo');
  const message = binary(MAX_PAYLOAD_BYTES);
  client.socket.send(message);
  const [answer] = await client.received(1, 50_000);
  expect(Buffer.isBuffer(answer)).toBe(true);
  expect((answer as Buffer).equals(message)).toBe(true);
}, 60_000);
