/**
 * Big and binary payloads cross the links as raw segments beside the JSON
 * line (src/ipc/link-codec.ts): 16 MiB binary of every byte value and 16 MiB
 * of multi-byte text echo back byte for byte, the service gets a Buffer for
 * binary and a string for text whichever way it travelled, and the sizes
 * around the text threshold, empty binary and broadcasts (the fan-out path)
 * come back exact. One cluster for the file.
 */
import { RAW_TEXT_MIN_LENGTH } from '../../src/ipc/link-codec';
import { closeAll, closeClients, connect, startCluster, type TestClient } from '../helpers/cluster';

const MiB = 1024 * 1024;
const TYPED_ECHO = require.resolve('../fixtures/kind-echo');
let port: number;

beforeAll(async () => {
  ({ port } = await startCluster({ workers: 1, services: { echo: TYPED_ECHO }, maxPayload: 17 * MiB, maxBufferedBytes: 64 * MiB }));
});

afterEach(() => closeClients());

afterAll(async () => {
  await closeAll();
});

/** Bytes of every value, newlines and quotes included, in no repeating 256-byte pattern. */
function everyByte(length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i + (i >>> 8) * 7) & 0xff;
  return out;
}

/** Sends one message and resolves with its echo and what the service said it was handed. */
async function echo(client: TestClient, data: string | Buffer, binary: boolean): Promise<{ echo: string | Buffer; seen: { kind: string; length: number } }> {
  const before = client.messages.length;
  client.socket.send(data, { binary });
  const messages = await client.received(before + 2, 20_000);
  return { echo: messages[before] as string | Buffer, seen: JSON.parse(messages[before + 1] as string) as { kind: string; length: number } };
}

test('16 MiB of binary, every byte value, echoes byte for byte; the service gets a Buffer', async () => {
  const client = await connect(port, '/echo', { maxPayload: 32 * MiB });
  const data = everyByte(16 * MiB);
  data[0] = 0;
  const { echo: back, seen } = await echo(client, data, true);
  expect(Buffer.isBuffer(back)).toBe(true);
  expect((back as Buffer).equals(data)).toBe(true);
  expect(seen).toEqual({ kind: 'buffer', length: 16 * MiB });
});

test('16 MiB of multi-byte text echoes exactly as text; the service gets its string', async () => {
  const client = await connect(port, '/echo', { maxPayload: 32 * MiB });
  // 1-, 2-, 3- and 4-byte UTF-8 characters, a quote, a backslash and a newline: 16 bytes a round, 1 Mi rounds.
  const unit = 'ab"\\\né€𝄞ü';
  expect(Buffer.byteLength(unit)).toBe(16);
  const text = unit.repeat(MiB);
  const { echo: back, seen } = await echo(client, text, false);
  expect(typeof back).toBe('string');
  expect(back === text).toBe(true);
  expect(seen).toEqual({ kind: 'string', length: text.length });
});

test('3 MiB of ASCII text (decoded the fast way, as latin1) echoes exactly as text; the service gets its string', async () => {
  const client = await connect(port, '/echo', { maxPayload: 32 * MiB });
  // JSON-like ASCII, quotes, backslashes and newlines included, and its last character the only one of its kind.
  const text = `${'{"k":"v\\n"}\n'.repeat(MiB / 4)}~`; // 12 characters a round: 3 MiB
  const { echo: back, seen } = await echo(client, text, false);
  expect(typeof back).toBe('string');
  expect(back === text).toBe(true);
  expect(seen).toEqual({ kind: 'string', length: text.length });
});

test('text around the raw threshold, and small and empty binary, come back exact', async () => {
  const client = await connect(port, '/echo');
  for (const length of [RAW_TEXT_MIN_LENGTH - 1, RAW_TEXT_MIN_LENGTH, RAW_TEXT_MIN_LENGTH + 1]) {
    // A 2-byte character last: the bytes reach the threshold before the characters do.
    const text = `${'x'.repeat(length - 1)}é`;
    const { echo: back, seen } = await echo(client, text, false);
    expect([length, back === text, seen]).toEqual([length, true, { kind: 'string', length }]);
  }
  for (const data of [Buffer.alloc(0), Buffer.from([0x0a]), everyByte(300)]) {
    const { echo: back, seen } = await echo(client, data, true);
    expect([data.length, Buffer.isBuffer(back) && back.equals(data), seen]).toEqual([data.length, true, { kind: 'buffer', length: data.length }]);
  }
});

test('a broadcast of 2 MiB text and of 2 MiB binary reaches every client exact (the fan-out path)', async () => {
  const sender = await connect(port, '/echo');
  const other = await connect(port, '/echo');
  const text = `all:${'é'.repeat(MiB - 2)}`;
  const binary = everyByte(2 * MiB);
  binary[0] = 0xff;
  sender.socket.send(text);
  const [textCopy] = await other.received(1);
  expect(textCopy === text).toBe(true);
  sender.socket.send(binary);
  const [, binaryCopy] = await other.received(2);
  expect(Buffer.isBuffer(binaryCopy) && binaryCopy.equals(binary)).toBe(true);
  // The sender got both too, each followed by the service's report.
  const mine = await sender.received(4);
  expect(mine[0] === text).toBe(true);
  expect(Buffer.isBuffer(mine[2]) && (mine[2] as Buffer).equals(binary)).toBe(true);
});
