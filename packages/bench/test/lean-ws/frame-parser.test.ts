import { FrameParser, type FrameError, type FrameSink } from '../../src/lean-ws/frame-parser';
import { Opcode } from '../../src/lean-ws/wire';
import { closeFrame, serverFrame } from './raw-frames';

type Event =
  | { type: 'message'; data: string; binary: boolean }
  | { type: 'ping' | 'pong'; data: string }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number; message: string };

/** A parser whose sink records copies of what it was handed (the originals may view a reused buffer). */
function recording(maxMessageBytes?: number): { parser: FrameParser; events: Event[] } {
  const events: Event[] = [];
  const sink: FrameSink = {
    message: (data, binary) => events.push({ type: 'message', data: data.toString('latin1'), binary }),
    ping: (data) => events.push({ type: 'ping', data: data.toString('latin1') }),
    pong: (data) => events.push({ type: 'pong', data: data.toString('latin1') }),
    close: (code, reason) => events.push({ type: 'close', code, reason: reason.toString() }),
    error: (error: FrameError) => events.push({ type: 'error', code: error.code, closeCode: error.closeCode, message: error.message }),
  };
  return { parser: new FrameParser(sink, maxMessageBytes), events };
}

/** Feeds `bytes` in pieces through one scratch buffer that each push overwrites, as the shared read buffer is. */
function feed(parser: FrameParser, bytes: Buffer, pieceSizes: readonly number[]): void {
  const scratch = Buffer.alloc(bytes.length + 16);
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = Math.min(pieceSizes[i % pieceSizes.length] as number, bytes.length - offset);
    scratch.fill(0xee);
    bytes.copy(scratch, 3, offset, offset + size);
    parser.push(scratch, 3, 3 + size);
    offset += size;
  }
}

const text = (data: string): Event => ({ type: 'message', data, binary: false });

test('several frames in one chunk are each delivered, text and binary, as views of that chunk', () => {
  const seen: Array<{ data: Buffer; binary: boolean }> = [];
  const ignore = (): void => undefined;
  const parser = new FrameParser({ message: (data, binary) => seen.push({ data, binary }), ping: ignore, pong: ignore, close: ignore, error: ignore });
  const chunk = Buffer.concat([serverFrame(Opcode.TEXT, 'one'), serverFrame(Opcode.BINARY, Buffer.from([1, 2, 3])), serverFrame(Opcode.TEXT, '')]);
  parser.push(chunk);
  expect(seen.map((m) => [m.data.toString('latin1'), m.binary])).toEqual([['one', false], ['\x01\x02\x03', true], ['', false]]);
  // No copy on the whole-frame path: the message shares the chunk's memory.
  expect(seen[0]?.data.buffer).toBe(chunk.buffer);
  expect(parser.done).toBe(false);
});

test('frames split at every possible point are reassembled, even when the read buffer is reused', () => {
  const stream = Buffer.concat([
    serverFrame(Opcode.TEXT, 'hello'),
    serverFrame(Opcode.PING, 'p'),
    serverFrame(Opcode.TEXT, 'x'.repeat(300)),
    serverFrame(Opcode.BINARY, Buffer.alloc(70_000, 7)),
    serverFrame(Opcode.TEXT, 'bye'),
  ]);
  for (const sizes of [[1], [2], [3], [7], [9], [11], [1, 5, 200], [4096]]) {
    const { parser, events } = recording();
    feed(parser, stream, sizes);
    expect(events).toEqual([
      text('hello'),
      { type: 'ping', data: 'p' },
      text('x'.repeat(300)),
      { type: 'message', data: Buffer.alloc(70_000, 7).toString('latin1'), binary: true },
      text('bye'),
    ]);
  }
});

test('16-bit and 64-bit lengths: 125, 126, 65535, 65536 byte payloads', () => {
  for (const size of [125, 126, 65_535, 65_536]) {
    const { parser, events } = recording();
    const payload = Buffer.alloc(size, 0x61);
    const frame = serverFrame(Opcode.TEXT, payload);
    expect(frame.length - size).toBe(size < 126 ? 2 : size < 0x10000 ? 4 : 10);
    parser.push(frame);
    expect(events).toEqual([text(payload.toString('latin1'))]);
  }
});

test('a fragmented message is reassembled, with a ping between its fragments', () => {
  const { parser, events } = recording();
  feed(parser, Buffer.concat([
    serverFrame(Opcode.TEXT, 'ab', { fin: false }),
    serverFrame(Opcode.PING, 'mid'),
    serverFrame(Opcode.CONTINUATION, 'cd', { fin: false }),
    serverFrame(Opcode.CONTINUATION, 'ef'),
    serverFrame(Opcode.BINARY, 'g', { fin: false }),
    serverFrame(Opcode.CONTINUATION, 'h'),
  ]), [3]);
  expect(events).toEqual([{ type: 'ping', data: 'mid' }, text('abcdef'), { type: 'message', data: 'gh', binary: true }]);
});

test('a close frame gives its code and reason; an empty one 1005; nothing is parsed after it', () => {
  const withCode = recording();
  withCode.parser.push(Buffer.concat([closeFrame(4001, 'going'), serverFrame(Opcode.TEXT, 'late')]));
  expect(withCode.events).toEqual([{ type: 'close', code: 4001, reason: 'going' }]);
  expect(withCode.parser.done).toBe(true);
  withCode.parser.push(serverFrame(Opcode.TEXT, 'later still'));
  expect(withCode.events).toHaveLength(1);

  const empty = recording();
  feed(empty.parser, serverFrame(Opcode.CLOSE), [1]);
  expect(empty.events).toEqual([{ type: 'close', code: 1005, reason: '' }]);
});

test('pongs are reported too', () => {
  const { parser, events } = recording();
  parser.push(serverFrame(Opcode.PONG, 'ok'));
  expect(events).toEqual([{ type: 'pong', data: 'ok' }]);
});

describe('frames a client must refuse', () => {
  const cases: Array<[string, Buffer, string, number]> = [
    ['a masked server frame', serverFrame(Opcode.TEXT, 'hi', { maskKey: Buffer.from([1, 2, 3, 4]) }), 'WS_ERR_UNEXPECTED_MASK', 1002],
    ['reserved data opcode 3', serverFrame(0x3, 'x'), 'WS_ERR_INVALID_OPCODE', 1002],
    ['reserved control opcode 0xb', serverFrame(0xb), 'WS_ERR_INVALID_OPCODE', 1002],
    ['RSV1 (compression was not negotiated)', serverFrame(Opcode.TEXT, 'x', { rsv: 0b100 }), 'WS_ERR_UNEXPECTED_RSV_1', 1002],
    ['RSV2', serverFrame(Opcode.TEXT, 'x', { rsv: 0b010 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
    ['RSV3', serverFrame(Opcode.TEXT, 'x', { rsv: 0b001 }), 'WS_ERR_UNEXPECTED_RSV_2_3', 1002],
    ['a continuation with no message to continue', serverFrame(Opcode.CONTINUATION, 'x'), 'WS_ERR_INVALID_OPCODE', 1002],
    ['a new message inside a fragmented one', Buffer.concat([serverFrame(Opcode.TEXT, 'a', { fin: false }), serverFrame(Opcode.TEXT, 'b')]), 'WS_ERR_INVALID_OPCODE', 1002],
    ['a fragmented ping', serverFrame(Opcode.PING, 'x', { fin: false }), 'WS_ERR_EXPECTED_FIN', 1002],
    ['a control frame over 125 bytes', serverFrame(Opcode.PING, 'x'.repeat(126)), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
    ['a close frame with a 1-byte body', serverFrame(Opcode.CLOSE, 'x'), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 1002],
    ['a close code no peer may send', closeFrame(1006), 'WS_ERR_INVALID_CLOSE_CODE', 1002],
    ['text that is not UTF-8', serverFrame(Opcode.TEXT, Buffer.from([0xc3, 0x28])), 'WS_ERR_INVALID_UTF8', 1007],
  ];
  test.each(cases)('%s', (_name, bytes, code, closeCode) => {
    const { parser, events } = recording();
    feed(parser, Buffer.concat([bytes, serverFrame(Opcode.TEXT, 'after')]), [1]);
    expect(events).toEqual([expect.objectContaining({ type: 'error', code, closeCode })]);
    expect(parser.done).toBe(true);
  });

  test('a 64-bit length past 2^53 - 1', () => {
    const { parser, events } = recording();
    parser.push(Buffer.from([0x82, 127, 0x00, 0x20, 0, 0, 0, 0, 0, 0]));
    expect(events).toEqual([expect.objectContaining({ type: 'error', code: 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH', closeCode: 1009 })]);
  });

  test('a message over the size limit, counted across fragments, before its bytes arrive', () => {
    const { parser, events } = recording(10);
    parser.push(serverFrame(Opcode.TEXT, 'x'.repeat(6), { fin: false }));
    parser.push(serverFrame(Opcode.CONTINUATION, 'x'.repeat(6)).subarray(0, 2));
    expect(events).toEqual([expect.objectContaining({ type: 'error', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', closeCode: 1009 })]);
  });

  test('the message names the violation as ws does', () => {
    const { parser, events } = recording();
    parser.push(serverFrame(Opcode.TEXT, 'hi', { maskKey: Buffer.from([1, 2, 3, 4]) }));
    expect(events[0]).toMatchObject({ message: 'Invalid WebSocket frame: MASK must be clear' });
  });
});

test('stop() ignores everything after, including a frame half-read', () => {
  const { parser, events } = recording();
  const frame = serverFrame(Opcode.TEXT, 'hello');
  parser.push(frame.subarray(0, 3));
  parser.stop();
  parser.push(frame.subarray(3));
  parser.push(serverFrame(Opcode.TEXT, 'again'));
  expect(events).toEqual([]);
});
