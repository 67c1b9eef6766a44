import { encodeClientFrame, encodeCloseFrame } from '../../src/lean-ws/frame-encoder';
import { Opcode } from '../../src/lean-ws/wire';
import { readClientFrame } from './raw-frames';

test('client frames are masked, FIN set, and unmask to the payload at every length form', () => {
  for (const size of [0, 1, 5, 125, 126, 65_535, 65_536]) {
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
    const frame = readClientFrame(encodeClientFrame(Opcode.BINARY, payload));
    expect(frame).toMatchObject({ fin: true, opcode: Opcode.BINARY, masked: true });
    expect(frame.payload.equals(payload)).toBe(true);
  }
});

test('each frame gets its own mask key, and the payload on the wire is not the plain one', () => {
  const payload = Buffer.from('the same text every time');
  const keys = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const bytes = encodeClientFrame(Opcode.TEXT, payload);
    keys.add(readClientFrame(bytes).maskKey.toString('hex'));
  }
  // 3,000 draws from 2^32 keys: a repeat is possible but very unlikely; a constant key would give 1.
  expect(keys.size).toBeGreaterThan(2990);
});

test('close frames carry the code, or no body when there is none', () => {
  const withCode = readClientFrame(encodeCloseFrame(1000));
  expect(withCode).toMatchObject({ opcode: Opcode.CLOSE, masked: true });
  expect(withCode.payload.readUInt16BE(0)).toBe(1000);
  expect(withCode.payload.length).toBe(2);
  expect(readClientFrame(encodeCloseFrame()).payload.length).toBe(0);
});
