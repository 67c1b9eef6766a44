/**
 * The large-message scenario: one connection echoes big messages one at a
 * time (sequential round trips), text and binary, at a few sizes. Each round
 * trip is timed from the send to the whole echo having arrived and compared
 * with what was sent, so the figure is the time a message of that size takes
 * through the server and back: for Switchyard, client → worker → service link
 * → service and back; for the single-process baseline, one `ws` server.
 *
 * It uses the `ws` client (the lean client is built for many small frames);
 * both sides get the same client, so its cost cancels out of the ratio.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const KiB = 1024;
const MiB = 1024 * KiB;

/** One size the scenario echoes, text then binary, `count` times each. */
export interface LargeCase {
  /** Figure name prefix, e.g. `mib1` → `mib1TextMs`, `mib1BinaryMs`. */
  readonly key: string;
  readonly bytes: number;
  readonly count: number;
}

/** The sizes and counts of the row: a few seconds per run on the baseline, the row (3 rounds) about a minute on a busy 2-core machine. */
export const LARGE_CASES: readonly LargeCase[] = [
  { key: 'kib64', bytes: 64 * KiB, count: 300 },
  { key: 'mib1', bytes: MiB, count: 50 },
  { key: 'mib16', bytes: 16 * MiB, count: 4 },
];

/** The quick run's counts: a tenth, at least 2. */
export const QUICK_LARGE_CASES: readonly LargeCase[] = LARGE_CASES.map((c) => ({ ...c, count: Math.max(2, Math.floor(c.count / 10)) }));

/** `maxPayload` both sides get for this scenario: the largest case plus room. */
export const LARGE_MAX_PAYLOAD = 17 * MiB;

/** Text of plain ASCII letters (nothing a JSON encoder escapes), as its UTF-8 bytes. */
function textPayload(bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = 97 + (i % 26);
  return buffer;
}

/** Bytes of every value, including the newline and quote a naive line format would trip on. */
function binaryPayload(bytes: number): Buffer {
  const buffer = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) buffer[i] = (i * 31 + (i >>> 8)) & 0xff;
  return buffer;
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: LARGE_MAX_PAYLOAD, perMessageDeflate: false });
    socket.once('open', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends `payload` and resolves with the milliseconds until its echo, checked byte for byte, arrived. */
function roundTrip(socket: WebSocket, payload: Buffer, binary: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onClose = (code: number, reason: Buffer): void => {
      socket.off('message', onMessage);
      reject(new Error(`closed with ${code} ${reason.toString()} during a ${payload.length}-byte round trip`));
    };
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      const elapsed = performance.now() - started;
      socket.off('close', onClose);
      socket.off('message', onMessage);
      const received = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary !== binary || !received.equals(payload)) {
        reject(new Error(`the echo of a ${payload.length}-byte ${binary ? 'binary' : 'text'} message differed (${received.length} bytes, binary=${isBinary})`));
        return;
      }
      resolve(elapsed);
    };
    socket.on('message', onMessage);
    socket.once('close', onClose);
    const started = performance.now();
    socket.send(payload, { binary });
  });
}

/**
 * Runs every case on one connection to `url`; returns the mean milliseconds
 * per round trip under `<key>TextMs` and `<key>BinaryMs`, and the total
 * payload bytes echoed (`bytes`). One text and one binary round trip of
 * each size go first as a warm-up, outside the measured window.
 */
export async function largeEcho(url: string, cases: readonly LargeCase[], onWindow: (phase: 'start' | 'end') => void): Promise<Record<string, number>> {
  const socket = await open(url);
  const figures: Record<string, number> = {};
  const payloads = cases.map((c) => ({ text: textPayload(c.bytes), binary: binaryPayload(c.bytes) }));
  let bytes = 0;
  try {
    for (const p of payloads) {
      await roundTrip(socket, p.text, false);
      await roundTrip(socket, p.binary, true);
    }
    onWindow('start');
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i] as LargeCase;
      const p = payloads[i] as { text: Buffer; binary: Buffer };
      for (const [name, payload, binary] of [['Text', p.text, false], ['Binary', p.binary, true]] as const) {
        let total = 0;
        for (let n = 0; n < c.count; n++) total += await roundTrip(socket, payload, binary);
        figures[`${c.key}${name}Ms`] = total / c.count;
        bytes += c.count * c.bytes;
      }
    }
    onWindow('end');
  } finally {
    socket.terminate();
  }
  figures.bytes = bytes;
  return figures;
}
