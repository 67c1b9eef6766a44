/** Builds and reads raw frames for the lean client's tests. */

/** A server frame (unmasked unless `maskKey` is given, which a server must never do). */
export function serverFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), options: { fin?: boolean; rsv?: number; maskKey?: Buffer } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const first = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
  const maskBit = options.maskKey === undefined ? 0 : 0x80;
  let header: Buffer;
  if (data.length < 126) {
    header = Buffer.from([first, maskBit | data.length]);
  } else if (data.length < 0x10000) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = maskBit | 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  if (options.maskKey === undefined) return Buffer.concat([header, data]);
  const key = options.maskKey;
  return Buffer.concat([header, key, Buffer.from(data.map((byte, i) => byte ^ (key[i % 4] as number)))]);
}

export function closeFrame(code: number, reason = ''): Buffer {
  const body = Buffer.alloc(2 + Buffer.byteLength(reason));
  body.writeUInt16BE(code, 0);
  body.write(reason, 2);
  return serverFrame(0x8, body);
}

export interface ClientFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  readonly maskKey: Buffer;
  /** Unmasked. */
  readonly payload: Buffer;
  /** Bytes the frame took. */
  readonly size: number;
}

/** Reads one client frame from the start of `bytes`. */
export function readClientFrame(bytes: Buffer): ClientFrame {
  const first = bytes[0] as number;
  const second = bytes[1] as number;
  let length = second & 0x7f;
  let at = 2;
  if (length === 126) {
    length = bytes.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    length = Number(bytes.readBigUInt64BE(2));
    at = 10;
  }
  const masked = (second & 0x80) !== 0;
  const maskKey = masked ? bytes.subarray(at, at + 4) : Buffer.alloc(4);
  if (masked) at += 4;
  const payload = Buffer.from(bytes.subarray(at, at + length).map((byte, i) => byte ^ (maskKey[i % 4] as number)));
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, masked, maskKey: Buffer.from(maskKey), payload, size: at + length };
}

/** Every client frame in `bytes`, in order. */
export function readClientFrames(bytes: Buffer): ClientFrame[] {
  const frames: ClientFrame[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const frame = readClientFrame(rest);
    frames.push(frame);
    rest = rest.subarray(frame.size);
  }
  return frames;
}
