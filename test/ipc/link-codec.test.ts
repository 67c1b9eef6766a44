import { LinkDecoder, RAW_TEXT_MIN_LENGTH, decodeText, decodeWrites, encodeBatch, writeBytes, type LinkDecoderLimits } from '../../src/ipc/link-codec';

const LIMITS: LinkDecoderLimits = { maxLineLength: 1 << 20, maxRawLength: 1 << 22 };

interface Seen {
  readonly values: unknown[];
  readonly malformed: Error[];
  readonly overflows: number[];
  readonly badRaw: string[];
}

function decoder(limits: LinkDecoderLimits = LIMITS): { decoder: LinkDecoder; seen: Seen } {
  const seen: Seen = { values: [], malformed: [], overflows: [], badRaw: [] };
  const d = new LinkDecoder(limits, {
    onValue: (value) => seen.values.push(value),
    onMalformed: (error) => seen.malformed.push(error),
    onOverflow: (length) => seen.overflows.push(length),
    onBadRaw: (reason) => seen.badRaw.push(reason),
  });
  return { decoder: d, seen };
}

/** Bytes of every value, newlines and quotes included. */
function bytes(length: number, seed = 7): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

const bigText = 'é€𝄞x'.repeat(Math.ceil(RAW_TEXT_MIN_LENGTH / 5) + 1);
/** A batch with every kind of payload: inline text, raw binary (empty too), raw big text, and messages without payload between. */
const MIXED: readonly unknown[] = [
  { type: 'hello', worker: 1, secret: 's' },
  { type: 'message', id: '1.1', seq: 1, data: 'small "text"\n' },
  { type: 'message', id: '1.1', seq: 2, data: bytes(300), binary: true },
  { type: 'message', id: '1.1', seq: 3, data: Buffer.alloc(0), binary: true },
  { type: 'ack', seqs: [1, 2] },
  { type: 'message', id: '1.2', seq: 4, data: bigText },
  { type: 'message', id: '1.2', seq: 5, data: bytes(70_000, 3), binary: true },
];

/** `value` with every Buffer as `{ bytes: <base64> }`: jest compares big Buffers byte by byte as object keys, slowly; strings it compares at once. */
function plain(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return { bytes: value.toString('base64') };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, plain(v)]));
  return value;
}

/** What the decoder gives back for MIXED: raw text as its UTF-8 bytes. */
const MIXED_DECODED = MIXED.map((m) => {
  const data = (m as { data?: unknown }).data;
  return typeof data === 'string' && data.length >= RAW_TEXT_MIN_LENGTH ? { ...(m as object), data: Buffer.from(data, 'utf8') } : m;
});

describe('encodeBatch', () => {
  test('a batch without bytes or big text is one JSON line, as before', () => {
    const batch = [{ type: 'send', id: '1.1', data: 'hi' }, { type: 'ack', seqs: [1] }];
    expect(encodeBatch(batch)).toBe(`${JSON.stringify(batch)}\n`);
  });

  test('raw payloads follow the line in order, as they are; the messages are not modified', () => {
    const payload = bytes(10);
    const message = { type: 'send', id: '1.1', data: payload, binary: true };
    const write = encodeBatch([message, { type: 'send', id: '1.2', data: 'x' }]);
    expect(Array.isArray(write)).toBe(true);
    const [line, segment] = write as Buffer[];
    expect(JSON.parse((line as Buffer).toString())).toEqual([{ type: 'send', id: '1.1', binary: true, raw: 10 }, { type: 'send', id: '1.2', data: 'x' }]);
    // The caller's Buffer itself: no copy, no base64.
    expect(segment).toBe(payload);
    expect(message.data).toBe(payload);
  });

  test('big text goes raw as its UTF-8 bytes, small text stays in the line', () => {
    const text = 'a'.repeat(RAW_TEXT_MIN_LENGTH);
    const write = encodeBatch([{ data: text }, { data: text.slice(1) }]) as Buffer[];
    expect(JSON.parse((write[0] as Buffer).toString())).toEqual([{ raw: RAW_TEXT_MIN_LENGTH }, { data: text.slice(1) }]);
    expect((write[1] as Buffer).toString()).toBe(text);
  });
});

describe('LinkDecoder', () => {
  test('round trip of a mixed batch, several writes in one chunk', () => {
    const { decoder: d, seen } = decoder();
    const write = writeBytes(encodeBatch(MIXED));
    expect(d.push(Buffer.concat([write, Buffer.from('[1]\n'), write]))).toBe(true);
    expect(plain(seen.values)).toEqual(plain([MIXED_DECODED, [1], MIXED_DECODED]));
    expect(d.idle).toBe(true);
  });

  test('decodes the same at every split of the bytes into two chunks', () => {
    const small: readonly unknown[] = [
      { type: 'send', id: '1.1', data: bytes(5), binary: true },
      { type: 'send', id: '1.2', data: 'é' },
      { type: 'send', id: '1.3', data: Buffer.alloc(0), binary: true },
      { type: 'send', id: '1.4', data: Buffer.from('\n\n'), binary: true },
    ];
    const write = Buffer.concat([writeBytes(encodeBatch(small)), Buffer.from('[2]\n')]);
    for (let cut = 0; cut <= write.length; cut++) {
      const { decoder: d, seen } = decoder();
      d.push(write.subarray(0, cut));
      d.push(write.subarray(cut));
      expect([cut, seen.values]).toEqual([cut, [small, [2]]]);
      expect(seen.malformed).toEqual([]);
    }
  });

  test('decodes the same fed one byte at a time, across a big segment', () => {
    const batch = [{ type: 'send', id: '1.1', data: bytes(20_000), binary: true }, { type: 'send', id: '1.2', data: 'x' }];
    const write = writeBytes(encodeBatch(batch));
    const { decoder: d, seen } = decoder();
    for (let i = 0; i < write.length; i++) d.push(write.subarray(i, i + 1));
    expect(plain(seen.values)).toEqual(plain([batch]));
  });

  test('a small segment is copied out of its chunk, a big one is a view of it', () => {
    const { decoder: d, seen } = decoder();
    const chunk = Buffer.concat([writeBytes(encodeBatch([{ data: bytes(10), binary: true }])), writeBytes(encodeBatch([{ data: bytes(100_000), binary: true }]))]);
    d.push(chunk);
    const [small, big] = seen.values.map((v) => ((v as unknown[])[0] as { data: Buffer }).data);
    expect(small?.buffer).not.toBe(chunk.buffer);
    expect(big?.buffer).toBe(chunk.buffer);
  });

  test.each([
    ['a negative length', '[{"raw":-1}]\n'],
    ['a fraction', '[{"raw":1.5}]\n'],
    ['a string', '[{"raw":"10"}]\n'],
    ['null', '[{"raw":null}]\n'],
    ['past the bound alone', `[{"raw":${(1 << 22) + 1}}]\n`],
    ['past the bound together', `[{"raw":${1 << 21}},{"raw":${1 << 21}},{"raw":1}]\n`],
  ])('a raw length that is %s breaks the stream, whatever follows', (_name, line) => {
    const { decoder: d, seen } = decoder();
    expect(d.push(Buffer.from(`[1]\n${line}[2]\n`))).toBe(false);
    expect(seen.values).toEqual([[1]]);
    expect(seen.badRaw).toHaveLength(1);
    expect(d.push(Buffer.from('[3]\n'))).toBe(false);
    expect(seen.values).toEqual([[1]]);
  });

  test('a claimed length allocates nothing ahead: the segment waits for bytes that never come', () => {
    const { decoder: d, seen } = decoder();
    expect(d.push(Buffer.from(`[{"raw":${1 << 22}}]\n`))).toBe(true);
    expect(seen.values).toEqual([]);
    expect(d.idle).toBe(false);
  });

  test('raw outside a batch (a line that is not an array) is no segment', () => {
    const { decoder: d, seen } = decoder();
    d.push(Buffer.from('{"raw":5}\n[1]\n'));
    expect(seen.values).toEqual([{ raw: 5 }, [1]]);
  });

  test('a line past maxLineLength breaks the stream', () => {
    const { decoder: d, seen } = decoder({ maxLineLength: 16, maxRawLength: 100 });
    expect(d.push(Buffer.from(`[1]\n["${'x'.repeat(20)}"]\n[2]\n`))).toBe(false);
    expect(seen.values).toEqual([[1]]);
    expect(seen.overflows).toEqual([24]);
  });

  test('an unparsable line is skipped; the next write decodes', () => {
    const { decoder: d, seen } = decoder();
    d.push(Buffer.from('nope\n'));
    d.push(writeBytes(encodeBatch([{ data: bytes(3), binary: true }])));
    expect(seen.malformed).toHaveLength(1);
    expect(seen.values).toEqual([[{ data: bytes(3), binary: true }]]);
  });
});

describe('LinkDecoder: transient chunks (a socket\'s reused read buffer)', () => {
  /** Pushes `write` through one reused buffer in reads of `size` bytes, scribbling over it after each push, as the next read would. */
  function throughReadBuffer(d: LinkDecoder, write: Buffer, size: number): void {
    const reused = Buffer.allocUnsafe(size);
    for (let offset = 0; offset < write.length; offset += size) {
      const length = write.copy(reused, 0, offset, Math.min(offset + size, write.length));
      d.push(reused.subarray(0, length), true);
      reused.fill(0x5b);
    }
  }

  test('keeps nothing as a view of the chunk: lines and segments split anywhere survive the buffer being reused', () => {
    const write = Buffer.concat([writeBytes(encodeBatch(MIXED)), Buffer.from('[1]\n'), writeBytes(encodeBatch(MIXED))]);
    for (const size of [1, 7, 4096, 65_536, write.length]) {
      const { decoder: d, seen } = decoder();
      throughReadBuffer(d, write, size);
      expect([size, plain(seen.values)]).toEqual([size, plain([MIXED_DECODED, [1], MIXED_DECODED])]);
      expect(d.idle).toBe(true);
    }
  });

  test('a segment split over chunks is gathered into one buffer of its length', () => {
    const payload = bytes(300_000);
    const { decoder: d, seen } = decoder();
    throughReadBuffer(d, writeBytes(encodeBatch([{ data: payload, binary: true }])), 65_536);
    const [[message]] = seen.values as [[{ data: Buffer }]];
    expect(message.data.equals(payload)).toBe(true);
    expect(message.data.buffer.byteLength).toBe(payload.length);
  });

  test('readTarget: bytes read straight into the segment\'s missing part are placed without a copy', () => {
    const payload = bytes(200_000);
    const write = writeBytes(encodeBatch([{ data: payload, binary: true }, { data: 'after' }]));
    const { decoder: d, seen } = decoder();
    expect(d.readTarget(1)).toBeUndefined();
    // The line and the segment's first bytes come through a read buffer; the segment is then allocated.
    const first = write.indexOf(0x0a) + 1 + 1000;
    d.push(Buffer.from(write.subarray(0, first)), true);
    const target = d.readTarget(64 * 1024) as Buffer;
    expect(target.length).toBe(199_000);
    // Less missing than asked for: no target.
    expect(d.readTarget(199_001)).toBeUndefined();
    const length = write.copy(target, 0, first, first + 150_000);
    d.push(target.subarray(0, length), true);
    expect(seen.values).toEqual([]);
    const rest = d.readTarget(1) as Buffer;
    expect(rest.length).toBe(49_000);
    expect(rest.buffer).toBe(target.buffer);
    d.push(Buffer.from(write.subarray(first + 150_000)), true);
    const [[message]] = seen.values as [[{ data: Buffer }]];
    expect(message.data.equals(payload)).toBe(true);
    expect(message.data.buffer).toBe(target.buffer);
    expect(d.readTarget(1)).toBeUndefined();
    expect(d.idle).toBe(true);
  });
});

describe('decodeWrites', () => {
  test('decodes every write held in one buffer', () => {
    const seen: unknown[] = [];
    const hooks = { onValue: (v: unknown) => seen.push(v), onMalformed: () => undefined, onOverflow: () => undefined, onBadRaw: () => undefined };
    expect(decodeWrites(Buffer.concat([writeBytes(encodeBatch(MIXED)), writeBytes(encodeBatch([1]))]), LIMITS, hooks)).toBe(true);
    expect(plain(seen)).toEqual(plain([MIXED_DECODED, [1]]));
  });

  test('bytes that end inside a segment are refused', () => {
    const bad: string[] = [];
    const hooks = { onValue: () => undefined, onMalformed: () => undefined, onOverflow: () => undefined, onBadRaw: (reason: string) => bad.push(reason) };
    const write = writeBytes(encodeBatch([{ data: bytes(10), binary: true }]));
    expect(decodeWrites(write.subarray(0, write.length - 1), LIMITS, hooks)).toBe(false);
    expect(bad).toHaveLength(1);
  });
});

describe('big text sent on as it came (decodeText)', () => {
  test('a decoded big text sent back unchanged is written from the bytes it came as, not encoded again', () => {
    const bytes = Buffer.from('é€😀'.repeat(RAW_TEXT_MIN_LENGTH));
    const text = decodeText(bytes);
    expect(text).toBe('é€😀'.repeat(RAW_TEXT_MIN_LENGTH));
    const write = encodeBatch([{ type: 'send', id: '1.1', data: text }]) as Buffer[];
    expect(write[1]).toBe(bytes);
    // An equal string made elsewhere has the same bytes: reused too, and right.
    expect((encodeBatch([{ type: 'send', id: '1.1', data: 'é€😀'.repeat(RAW_TEXT_MIN_LENGTH) }]) as Buffer[])[1]).toBe(bytes);
  });

  test('ASCII text (decoded as latin1, the fast way) is the string UTF-8 decoding gives, and is remembered; one non-ASCII character anywhere decodes as UTF-8', () => {
    const ascii = Buffer.from(`{"json":"${'abc\\n'.repeat(RAW_TEXT_MIN_LENGTH)}"}`);
    const text = decodeText(ascii);
    expect(text).toBe(ascii.toString('utf8'));
    expect((encodeBatch([{ data: text }]) as Buffer[])[1]).toBe(ascii);
    const tail = Buffer.concat([Buffer.alloc(RAW_TEXT_MIN_LENGTH, 'a'), Buffer.from('é')]);
    const decoded = decodeText(tail);
    expect(decoded.endsWith('aé')).toBe(true);
    expect(decoded).toHaveLength(RAW_TEXT_MIN_LENGTH + 1);
    expect((encodeBatch([{ data: decoded }]) as Buffer[])[1]).toBe(tail);
  });

  test('another string of the same length, and bytes that are not UTF-8, are encoded afresh', () => {
    const bytes = Buffer.alloc(RAW_TEXT_MIN_LENGTH, 'a');
    decodeText(bytes);
    const other = 'b'.repeat(RAW_TEXT_MIN_LENGTH);
    const write = encodeBatch([{ type: 'send', id: '1.1', data: other }]) as Buffer[];
    expect(write[1]).not.toBe(bytes);
    expect(write[1]?.toString()).toBe(other);
    // 0xff is never UTF-8: it decodes to U+FFFD, whose bytes (ef bf bd) go out, not the 0xff the peer sent.
    const invalid = Buffer.alloc(RAW_TEXT_MIN_LENGTH, 0xff);
    const replaced = decodeText(invalid);
    const sent = (encodeBatch([{ type: 'send', id: '1.1', data: replaced }]) as Buffer[])[1] as Buffer;
    expect(sent).not.toBe(invalid);
    expect(sent.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbf, 0xbd]));
    expect(sent.length).toBe(RAW_TEXT_MIN_LENGTH * 3);
  });
});
