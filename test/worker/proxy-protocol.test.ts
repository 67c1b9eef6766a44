import { parseProxyHeader, V2_MAX_LENGTH } from '../../src/worker/proxy-protocol';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v2 header: PROXY command, family/protocol byte, the address block. */
function v2(familyProtocol: number, addresses: Buffer, command = 0x21): Buffer {
  const head = Buffer.alloc(4);
  head[0] = command;
  head[1] = familyProtocol;
  head.writeUInt16BE(addresses.length, 2);
  return Buffer.concat([SIGNATURE, head, addresses]);
}

test('v1: TCP4, TCP6 and UNKNOWN lines, with what follows them left alone', () => {
  const line = 'PROXY TCP4 203.0.113.9 10.0.0.1 56324 443\r\n';
  expect(parseProxyHeader(Buffer.from(`${line}GET / HTTP/1.1\r\n`))).toEqual({ kind: 'header', length: line.length, address: '203.0.113.9' });
  expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'))).toMatchObject({ kind: 'header', address: '2001:db8::1' });
  expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN whatever\r\n'))).toEqual({ kind: 'header', length: 24, address: undefined });
});

test('v1: incomplete until the CRLF, refused when malformed or longer than 107 bytes', () => {
  expect(parseProxyHeader(Buffer.from('PRO')).kind).toBe('incomplete');
  expect(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.9')).kind).toBe('incomplete');
  for (const bad of ['PROXY TCP4 203.0.113.9 10.0.0.1 1\r\n', 'PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n', 'PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n', 'PROXY TCP4 1.2.3.4 1.2.3.4 1 99999\r\n']) {
    expect([bad, parseProxyHeader(Buffer.from(bad)).kind]).toEqual([bad, 'invalid']);
  }
  expect(parseProxyHeader(Buffer.from(`PROXY ${'x'.repeat(110)}`))).toEqual({ kind: 'invalid', reason: 'PROXY v1 line too long' });
});

test('anything else is not a PROXY header', () => {
  expect(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ kind: 'invalid', reason: 'no PROXY protocol header' });
  expect(parseProxyHeader(Buffer.from([0x16, 0x03, 0x01])).kind).toBe('invalid');
});

test('v2: IPv4 and IPv6 sources, LOCAL and UNIX without one, TLVs skipped, incomplete until the whole block is there', () => {
  const ipv4 = Buffer.from([203, 0, 113, 9, 10, 0, 0, 1, 0xdc, 0x04, 0x01, 0xbb]);
  const tlv = Buffer.from([0x04, 0x00, 0x02, 0x61, 0x62]);
  const withTlv = v2(0x11, Buffer.concat([ipv4, tlv]));
  expect(parseProxyHeader(Buffer.concat([withTlv, Buffer.from('GET')]))).toEqual({ kind: 'header', length: withTlv.length, address: '203.0.113.9' });
  expect(parseProxyHeader(withTlv.subarray(0, 20)).kind).toBe('incomplete');
  expect(parseProxyHeader(withTlv.subarray(0, 8)).kind).toBe('incomplete');
  const ipv6 = Buffer.alloc(36);
  Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x17]).copy(ipv6, 0);
  expect(parseProxyHeader(v2(0x21, ipv6))).toMatchObject({ address: '2001:db8::17' });
  const mapped = Buffer.alloc(36);
  Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7]).copy(mapped, 0);
  expect(parseProxyHeader(v2(0x21, mapped))).toMatchObject({ address: '::ffff:198.51.100.7' });
  expect(parseProxyHeader(v2(0x11, ipv4, 0x20))).toEqual({ kind: 'header', length: 28, address: undefined });
  expect(parseProxyHeader(v2(0x31, Buffer.alloc(216)))).toMatchObject({ kind: 'header', address: undefined });
});

test('v2: a wrong version, an unknown command, truncated addresses or an oversized block are refused', () => {
  const ipv4 = Buffer.alloc(12);
  expect(parseProxyHeader(v2(0x11, ipv4, 0x11)).kind).toBe('invalid');
  expect(parseProxyHeader(v2(0x11, ipv4, 0x22)).kind).toBe('invalid');
  expect(parseProxyHeader(v2(0x11, Buffer.alloc(4))).kind).toBe('invalid');
  expect(parseProxyHeader(v2(0x21, Buffer.alloc(12))).kind).toBe('invalid');
  expect(parseProxyHeader(v2(0x11, Buffer.alloc(V2_MAX_LENGTH)).subarray(0, 16))).toEqual({ kind: 'invalid', reason: 'PROXY v2 header too long' });
});
