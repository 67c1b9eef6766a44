import { encodeStamped, echoPayload, readEnd, readSeq, readTime, RAW_LAYOUT } from '../src/payload';
import {
  decodeEvent, encodeEvent, frameFor, handshakeStep, isEvent, isPing, layoutFor, SOCKETIO_LAYOUT, socketIoUrl, strayReason,
} from '../src/socketio';

const text = (value: string): Buffer => Buffer.from(value, 'latin1');

test('an event frame is 42["message",<payload as a JSON string>] and decodes back', () => {
  const payload = echoPayload(64);
  const frame = encodeEvent(payload);
  expect(frame.toString('latin1')).toBe(`42["message",${JSON.stringify(payload.toString())}]`);
  expect(JSON.parse(frame.toString('latin1', 2))).toEqual(['message', payload.toString()]);
  expect(decodeEvent(frame)).toBe(payload.toString());
  expect(decodeEvent(text('42["other","x"]'))).toBeUndefined();
  expect(decodeEvent(text('40{"sid":"a"}'))).toBeUndefined();
});

test('what a Socket.IO server sends back is the same bytes: JSON.stringify of the parsed event', () => {
  const frame = encodeEvent(encodeStamped(123, false, 1764097200123.456, 100));
  const [name, payload] = JSON.parse(frame.toString('latin1', 2)) as [string, string];
  expect(Buffer.from(`42${JSON.stringify([name, payload])}`, 'latin1').equals(frame)).toBe(true);
});

test('the fields of a wrapped payload are read at fixed offsets without parsing', () => {
  for (const size of [64, 65, 300]) {
    const frame = encodeEvent(encodeStamped(4242, false, 1764097200123.456, size));
    expect(readSeq(frame, SOCKETIO_LAYOUT)).toBe(4242);
    expect(readEnd(frame, SOCKETIO_LAYOUT)).toBe(false);
    expect(readTime(frame, SOCKETIO_LAYOUT)).toBeCloseTo(1764097200123.456, 3);
    expect(readEnd(encodeEvent(encodeStamped(9, true, 1, size)), SOCKETIO_LAYOUT)).toBe(true);
  }
  // A wrapped frame read as raw (or a raw one as wrapped) is no bench message.
  expect(readSeq(encodeStamped(7, false, 1, 64), SOCKETIO_LAYOUT)).toBeNaN();
  expect(readSeq(text('42["message","short"]'), SOCKETIO_LAYOUT)).toBeNaN();
});

test('the protocol picks the framing and the layout; ws leaves the payload alone', () => {
  const payload = echoPayload(64);
  expect(frameFor('ws', payload)).toBe(payload);
  expect(layoutFor('ws')).toBe(RAW_LAYOUT);
  expect(frameFor('socketio', payload).equals(encodeEvent(payload))).toBe(true);
  expect(layoutFor('socketio')).toBe(SOCKETIO_LAYOUT);
});

test('packet types are told apart by their first bytes', () => {
  expect(isEvent(text('42["message","x"]'))).toBe(true);
  expect(isEvent(text('40'))).toBe(false);
  expect(isEvent(text('2'))).toBe(false);
  expect(isPing(text('2'))).toBe(true);
  expect(isPing(text('2probe'))).toBe(false);
  expect(isPing(text('3'))).toBe(false);
  expect(strayReason(text('1'))).toBe('socket.io: engine closed');
  expect(strayReason(text('41'))).toBe('socket.io: disconnected by server');
  expect(strayReason(text('6'))).toBe('socket.io: unexpected packet "6"');
});

test('the connect handshake: open, connect to "/", connected; pings answered on the way', () => {
  let step = handshakeStep('await-open', text('2'));
  expect(step).toEqual({ state: 'await-open', send: '3' });
  step = handshakeStep('await-open', text('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'));
  expect(step).toEqual({ state: 'await-connect', send: '40' });
  expect(handshakeStep('await-connect', text('2'))).toEqual({ state: 'await-connect', send: '3' });
  step = handshakeStep('await-connect', text('40{"sid":"def"}'));
  expect(step).toEqual({ state: 'connected' });
});

test('a refused or garbled handshake fails with a short reason', () => {
  expect(handshakeStep('await-connect', text('44{"message":"not authorized"}')).error).toBe('socket.io connect error: not authorized');
  expect(handshakeStep('await-connect', text('44garbage')).error).toBe('socket.io connect error');
  expect(handshakeStep('await-open', text('40')).error).toBe('unexpected socket.io packet "40" during handshake');
  expect(handshakeStep('await-connect', text('42["message","x"]')).error).toBe('unexpected socket.io packet "42" during handshake');
});

test('the WebSocket URL of a Socket.IO server', () => {
  expect(socketIoUrl('ws://127.0.0.1:3000')).toBe('ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket');
  expect(socketIoUrl('ws://127.0.0.1:3000/')).toBe('ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket');
  expect(socketIoUrl('ws://h:1/custom/?token=x')).toBe('ws://h:1/custom/?token=x&EIO=4&transport=websocket');
  expect(socketIoUrl('ws://h:1/socket.io/?EIO=3')).toBe('ws://h:1/socket.io/?EIO=4&transport=websocket');
});
