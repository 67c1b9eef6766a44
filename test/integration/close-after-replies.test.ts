/**
 * Replies still on their way when a client closes (issue 11, item 3): a
 * client's Close, or a protocol error, that reaches the worker while a reply
 * to one of its messages is still in the service is answered only once that
 * reply has been written (RFC 6455 §5.5.1 lets an endpoint finish sending
 * its current messages first), and at the latest after `closeGrace`. Raw
 * frames, written in one go, so the worker reads the message and what follows
 * it from one chunk.
 */
import { performance } from 'node:perf_hooks';
import { closeAll, connect, startCluster } from '../helpers/cluster';
import { closeCode, frame, OPCODES, type Frame } from '../helpers/frames';
import { closeRawClients, rawWebSocket, type RawClient } from '../helpers/raw-client';

const LATE_ECHO = require.resolve('../fixtures/late-echo');

afterEach(async () => {
  closeRawClients();
  await closeAll();
});

function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code, 0);
  return frame(OPCODES.CLOSE, payload);
}

/** A text frame with RSV1 set, which no extension was negotiated for. */
function rsv1Frame(text: string): Buffer {
  const bytes = frame(OPCODES.TEXT, text);
  bytes[0] = (bytes[0] as number) | 0x40;
  return bytes;
}

/** What the server sent, as (opcode, text) pairs, once its Close frame has arrived. */
async function framesUntilClose(raw: RawClient): Promise<{ frames: readonly Frame[]; code: number | undefined }> {
  const close = await raw.frame((f) => f.opcode === OPCODES.CLOSE);
  return { frames: [...raw.frames], code: closeCode(close.payload) };
}

function summary(frames: readonly Frame[]): string[] {
  return frames.map((f) => (f.opcode === OPCODES.CLOSE ? `close:${closeCode(f.payload)}` : `${f.opcode}:${f.payload.toString()}`));
}

test('a message and the Close right behind it: the reply arrives before the server\'s Close', async () => {
  const { port } = await startCluster({ workers: 1, services: { echo: LATE_ECHO } });
  const raw = await rawWebSocket(port, '/echo');
  raw.socket.write(Buffer.concat([frame(OPCODES.TEXT, 'first'), frame(OPCODES.TEXT, 'second'), closeFrame(1000)]));
  const { frames, code } = await framesUntilClose(raw);
  expect(summary(frames)).toEqual([`${OPCODES.TEXT}:first`, `${OPCODES.TEXT}:second`, 'close:1000']);
  expect(code).toBe(1000);
  await raw.closed;
});

const PROTOCOL_ERRORS: ReadonlyArray<[string, Buffer]> = [
  ['a reserved opcode', frame(0x3, 'what')],
  ['a bad RSV bit', rsv1Frame('compressed?')],
  ['a stray continuation', frame(OPCODES.CONTINUATION, 'tail')],
];

test.each(PROTOCOL_ERRORS)('a message and %s right behind it: the reply arrives before the 1002 close', async (_what, bad) => {
  const { port } = await startCluster({ workers: 1, services: { echo: LATE_ECHO } });
  const raw = await rawWebSocket(port, '/echo');
  raw.socket.write(Buffer.concat([frame(OPCODES.TEXT, 'before the error'), bad]));
  const { frames, code } = await framesUntilClose(raw);
  expect(summary(frames)).toEqual([`${OPCODES.TEXT}:before the error`, 'close:1002']);
  expect(code).toBe(1002);
  await raw.closed;
});

test('a handler that does not settle holds the Close only for closeGrace', async () => {
  const graceMs = 300;
  const { port } = await startCluster({ workers: 1, services: { echo: LATE_ECHO }, closeGrace: graceMs });
  const other = await connect(port, '/echo');
  const raw = await rawWebSocket(port, '/echo');
  const sent = performance.now();
  raw.socket.write(Buffer.concat([frame(OPCODES.TEXT, 'hang'), closeFrame(1000)]));
  const { frames, code } = await framesUntilClose(raw);
  const waited = performance.now() - sent;
  expect(code).toBe(1000);
  expect(summary(frames)).toEqual(['close:1000']);
  // Held, since its message was not handled yet; but not for longer than the grace (plus the worker's sweep tick and slack).
  expect(waited).toBeGreaterThanOrEqual(graceMs - 20);
  expect(waited).toBeLessThan(graceMs + 1500);
  await raw.closed;
  // The hung handler ends, so the stop in afterEach does not wait for it.
  other.socket.send('release');
  await other.received(1);
});

test('with nothing on its way back, the Close is answered at once, and a client still gets replies after another one closed', async () => {
  const { port } = await startCluster({ workers: 1, services: { echo: LATE_ECHO }, closeGrace: 5000 });
  const raw = await rawWebSocket(port, '/echo');
  const sent = performance.now();
  raw.socket.write(closeFrame(1001));
  const { frames, code } = await framesUntilClose(raw);
  expect(summary(frames)).toEqual(['close:1001']);
  expect(code).toBe(1001);
  // Not held for the grace: nothing of this client was waiting for an ack.
  expect(performance.now() - sent).toBeLessThan(2500);
  await raw.closed;
  const client = await connect(port, '/echo');
  client.socket.send('still served');
  expect(await client.received(1)).toEqual(['still served']);
});
