import { FRAME_HEADER_BYTES, MAX_UINT48, decodeFrame, encodeFrame, type Frame } from '../../src/nats/frame';

const samples: readonly Frame[] = [
  { kind: 'data', epoch: 1, peerEpoch: 0, ack: 0, seq: 1, payload: Buffer.from('{"type":"message"}') },
  { kind: 'data', epoch: MAX_UINT48, peerEpoch: MAX_UINT48 - 1, ack: MAX_UINT48, seq: MAX_UINT48, payload: Buffer.alloc(0) },
  { kind: 'ack', epoch: 7, peerEpoch: 9, ack: 12 },
  { kind: 'nack', epoch: 7, peerEpoch: 9, ack: 12, to: 20 },
  { kind: 'reset', epoch: 7, peerEpoch: 9, ack: 0 },
];

test.each(samples.map((frame) => [frame.kind, frame] as const))('a %s frame survives encode and decode', (_kind, frame) => {
  const bytes = encodeFrame(frame);
  expect(bytes.byteLength).toBe(FRAME_HEADER_BYTES + (frame.kind === 'data' ? frame.payload.byteLength : 0));
  const decoded = decodeFrame(bytes);
  expect(decoded.ok).toBe(true);
  if (!decoded.ok) return;
  if (decoded.frame.kind === 'data' && frame.kind === 'data') {
    expect(Buffer.from(decoded.frame.payload).equals(Buffer.from(frame.payload))).toBe(true);
    expect({ ...decoded.frame, payload: undefined }).toEqual({ ...frame, payload: undefined });
  } else {
    expect(decoded.frame).toEqual(frame);
  }
});

test('bytes that are not a valid frame are named, never thrown', () => {
  const data = encodeFrame({ kind: 'data', epoch: 3, peerEpoch: 4, ack: 1, seq: 2, payload: Buffer.from('x') });
  const patched = (offset: number, value: number): Buffer => {
    const copy = Buffer.from(data);
    copy[offset] = value;
    return copy;
  };
  const cases: ReadonlyArray<readonly [string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['short', data.subarray(0, FRAME_HEADER_BYTES - 1)],
    ['version', patched(0, 9)],
    ['kind', patched(1, 0)],
    ['seq 0', encodeFrame({ kind: 'data', epoch: 3, peerEpoch: 4, ack: 1, seq: 2, payload: Buffer.alloc(0) }).fill(0, 14, 20)],
    ['ack without epoch', encodeFrame({ kind: 'ack', epoch: 3, peerEpoch: 0, ack: 5 })],
    ['ack with payload', Buffer.concat([encodeFrame({ kind: 'ack', epoch: 3, peerEpoch: 4, ack: 5 }), Buffer.from('x')])],
    ['reset naming nothing', encodeFrame({ kind: 'reset', epoch: 3, peerEpoch: 0, ack: 0 })],
    ['nack before its ack', encodeFrame({ kind: 'nack', epoch: 3, peerEpoch: 4, ack: 5, to: 5 })],
    ['nack naming nothing', encodeFrame({ kind: 'nack', epoch: 3, peerEpoch: 0, ack: 0, to: 1 })],
  ];
  for (const [name, bytes] of cases) {
    const decoded = decodeFrame(bytes);
    expect([name, decoded.ok]).toEqual([name, false]);
    if (!decoded.ok) expect(decoded.reason.length).toBeGreaterThan(0);
  }
});
