import { acceptFor, handshakeFailure, MAX_RESPONSE_HEAD_BYTES, newKey, ResponseHeadReader, upgradeRequest } from '../../src/lean-ws/handshake';

// The example from RFC 6455 §1.3.
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function response(key: string, extra = '', status = '101 Switching Protocols'): string {
  return `HTTP/1.1 ${status}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`;
}

test('the accept value is the RFC one, and keys are 16 random bytes in base64', () => {
  expect(acceptFor(RFC_KEY)).toBe(RFC_ACCEPT);
  const key = newKey();
  expect(Buffer.from(key, 'base64')).toHaveLength(16);
  expect(newKey()).not.toBe(key);
});

test('the upgrade request names path, query and host, and asks for no extension', () => {
  const request = upgradeRequest(new URL('ws://127.0.0.1:8098/fanout?room=a'), RFC_KEY);
  expect(request.startsWith('GET /fanout?room=a HTTP/1.1\r\nHost: 127.0.0.1:8098\r\n')).toBe(true);
  expect(request).toContain(`Sec-WebSocket-Key: ${RFC_KEY}\r\n`);
  expect(request).toContain('Sec-WebSocket-Version: 13\r\n');
  expect(request).toContain('Upgrade: websocket\r\nConnection: Upgrade\r\n');
  expect(request).not.toMatch(/extensions/i);
  expect(request.endsWith('\r\n\r\n')).toBe(true);
});

test('a correct 101 passes; anything else fails with the reason ws gives', () => {
  expect(handshakeFailure(response(RFC_KEY), RFC_KEY)).toBeUndefined();
  expect(handshakeFailure(response(RFC_KEY).replace('Connection: Upgrade', 'connection: keep-alive, upgrade'), RFC_KEY)).toBeUndefined();
  expect(handshakeFailure('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', RFC_KEY)).toBe('HTTP 404');
  expect(handshakeFailure('HTTP/1.1 503 Service Unavailable\r\n\r\n', RFC_KEY)).toBe('HTTP 503');
  expect(handshakeFailure(response('c29tZSBvdGhlciBrZXkhIQ=='), RFC_KEY)).toBe('Invalid Sec-WebSocket-Accept header');
  expect(handshakeFailure(response(RFC_KEY).replace('Upgrade: websocket', 'Upgrade: h2c'), RFC_KEY)).toBe('Invalid Upgrade header');
  expect(handshakeFailure(response(RFC_KEY).replace('Connection: Upgrade', 'Connection: close'), RFC_KEY)).toBe('Invalid Connection header');
  expect(handshakeFailure(response(RFC_KEY, 'Sec-WebSocket-Extensions: permessage-deflate\r\n'), RFC_KEY)).toMatch(/Extensions/);
  expect(handshakeFailure(response(RFC_KEY, 'Sec-WebSocket-Protocol: chat\r\n'), RFC_KEY)).toMatch(/subprotocol/);
  expect(handshakeFailure('SSH-2.0-OpenSSH\r\n\r\n', RFC_KEY)).toBe('Invalid HTTP response');
});

test('the head reader finds the blank line across reads and says where frames begin', () => {
  const head = response(RFC_KEY);
  const bytes = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from([0x81, 0x00])]);
  for (let split = 1; split < bytes.length; split++) {
    const reader = new ResponseHeadReader();
    const first = reader.push(bytes, 0, split);
    if (first !== -1) {
      expect(first).toBe(head.length);
      expect(reader.head).toBe(head);
      continue;
    }
    expect(reader.push(bytes, split, bytes.length)).toBe(head.length);
    expect(reader.head).toBe(head);
  }
});

test('a head that never ends is refused', () => {
  const reader = new ResponseHeadReader();
  const filler = Buffer.from('X-Filler: yes\r\n');
  expect(() => {
    for (let i = 0; i * filler.length <= MAX_RESPONSE_HEAD_BYTES + filler.length; i++) reader.push(filler, 0, filler.length);
  }).toThrow(/head too large/);
});
