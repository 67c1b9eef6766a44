/**
 * HeldCloses driven directly: a fake socket whose receiver carries stand-ins
 * for ws's own 'conclude' and 'error' listeners (the first receiver watched
 * is where the module reads them from, as it reads ws's from a real one), a
 * fake link that says which events are still unacknowledged, and a clock.
 */
import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';
import type { ClientEntry } from '../../src/worker/client-registry';
import { HeldCloses } from '../../src/worker/held-closes';
import type { ServiceLink } from '../../src/worker/service-link';
import { recordingLogger } from '../helpers/recording-logger';

/** What "ws" was asked to do, in order, across every fake socket. */
const wsCalls: string[] = [];

function wsConclude(this: EventEmitter, code: number, reason: Buffer): void {
  wsCalls.push(`conclude:${code}:${reason.toString()}`);
}

function wsError(this: EventEmitter, error: Error): void {
  wsCalls.push(`error:${error.message}`);
}

class FakeLink {
  readonly pending = new Set<number>();
  isPending(seq: number): boolean {
    return this.pending.has(seq);
  }
}

class FakeSocket {
  readyState: WebSocket['readyState'] = WebSocket.OPEN;
  paused = false;
  readonly _receiver = new EventEmitter();
  constructor() {
    this._receiver.on('conclude', wsConclude);
    this._receiver.on('error', wsError);
  }
  pause(): void {
    this.paused = true;
  }
  /** The worker's own close (a stop or a reload). */
  close(code: number, reason: string): void {
    wsCalls.push(`close:${code}:${reason}`);
    this.readyState = WebSocket.CLOSING;
  }
}

function client(link: FakeLink, lastSeq: number): { entry: ClientEntry; socket: FakeSocket } {
  const socket = new FakeSocket();
  const entry = { id: '1.1', service: 'echo', socket: socket as unknown as WebSocket, link: link as unknown as ServiceLink, lastSeq } as ClientEntry;
  return { entry, socket };
}

beforeEach(() => {
  wsCalls.length = 0;
});

test('a Close with nothing unacknowledged goes to ws at once; one behind a pending message waits for its ack', () => {
  let now = 0;
  const closes = new HeldCloses(1000, recordingLogger().log, () => now);
  const link = new FakeLink();
  const idle = client(link, 1);
  const busy = client(link, 2);
  closes.watch(idle.entry);
  closes.watch(busy.entry);
  // ws's listeners were replaced, not joined.
  expect(busy.socket._receiver.listeners('conclude')).not.toContain(wsConclude);
  idle.socket._receiver.emit('conclude', 1000, Buffer.from('bye'));
  expect(wsCalls).toEqual(['conclude:1000:bye']);
  expect(idle.socket.paused).toBe(false);

  link.pending.add(2);
  busy.socket._receiver.emit('conclude', 1001, Buffer.from('later'));
  expect(wsCalls).toHaveLength(1);
  expect(busy.socket.paused).toBe(true);
  expect(closes.size).toBe(1);
  closes.settle(link as unknown as ServiceLink);
  expect(wsCalls).toHaveLength(1);
  link.pending.delete(2);
  now = 10;
  closes.settle(link as unknown as ServiceLink);
  expect(wsCalls).toEqual(['conclude:1000:bye', 'conclude:1001:later']);
  expect(closes.size).toBe(0);
  expect(closes.releasedLate).toBe(0);
  closes.close();
});

test('a protocol error behind a pending message is held until the grace ends; only the first error counts', () => {
  let now = 0;
  const closes = new HeldCloses(500, recordingLogger().log, () => now);
  const link = new FakeLink();
  const { entry, socket } = client(link, 7);
  closes.watch(entry);
  link.pending.add(7);
  socket._receiver.emit('error', new Error('reserved opcode'));
  socket._receiver.emit('error', new Error('a later one'));
  now = 499;
  closes.sweep();
  expect(wsCalls).toEqual([]);
  now = 500;
  closes.sweep();
  expect(wsCalls).toEqual(['error:reserved opcode']);
  expect(closes.releasedLate).toBe(1);
  closes.close();
});

test('a held close goes to ws as soon as its socket is no longer open, and is dropped once the socket closed', () => {
  let now = 0;
  const closes = new HeldCloses(60_000, recordingLogger().log, () => now);
  const link = new FakeLink();
  const closing = client(link, 1);
  const gone = client(link, 2);
  closes.watch(closing.entry);
  closes.watch(gone.entry);
  link.pending.add(1);
  link.pending.add(2);
  closing.socket._receiver.emit('conclude', 1000, Buffer.alloc(0));
  gone.socket._receiver.emit('conclude', 1000, Buffer.alloc(0));
  expect(closes.size).toBe(2);
  closing.socket.readyState = WebSocket.CLOSING;
  gone.socket.readyState = WebSocket.CLOSED;
  now = 1;
  closes.sweep();
  expect(wsCalls).toEqual(['conclude:1000:']);
  expect(closes.size).toBe(0);
  closes.close();
});

test('a grace of 0 leaves ws\'s listeners in place', () => {
  const closes = new HeldCloses(0, recordingLogger().log);
  const { entry, socket } = client(new FakeLink(), 1);
  closes.watch(entry);
  expect(socket._receiver.listeners('conclude')).toEqual([wsConclude]);
  expect(socket._receiver.listeners('error')).toEqual([wsError]);
  closes.close();
});

test('a stopping worker closes a client with nothing in flight at once, and one with a pending message once it is acknowledged', () => {
  const closes = new HeldCloses(1000, recordingLogger().log, () => 0);
  const link = new FakeLink();
  const idle = client(link, 1);
  const busy = client(link, 2);
  link.pending.add(2);
  closes.closeAfterReplies(idle.entry, 1012, 'server reloading', 800);
  closes.closeAfterReplies(busy.entry, 1012, 'server reloading', 800);
  expect(wsCalls).toEqual(['close:1012:server reloading']);
  // Still read: what it sends before it sees the close is handled, and the hold waits for it too.
  expect(busy.socket.paused).toBe(false);
  link.pending.add(3);
  busy.entry.lastSeq = 3;
  link.pending.delete(2);
  closes.settle(link as unknown as ServiceLink);
  expect(wsCalls).toHaveLength(1);
  link.pending.delete(3);
  closes.settle(link as unknown as ServiceLink);
  expect(wsCalls).toEqual(['close:1012:server reloading', 'close:1012:server reloading']);
  expect(closes.size).toBe(0);
  expect(closes.releasedLate).toBe(0);
  closes.close();
});

test('a stopping worker holds a close at most its bound (not closeGrace), and not at all with a bound of 0', () => {
  let now = 0;
  const closes = new HeldCloses(5000, recordingLogger().log, () => now);
  const link = new FakeLink();
  const held = client(link, 4);
  const atOnce = client(link, 5);
  link.pending.add(4);
  link.pending.add(5);
  closes.closeAfterReplies(held.entry, 1001, 'server shutting down', 300);
  closes.closeAfterReplies(atOnce.entry, 1001, 'server shutting down', 0);
  expect(wsCalls).toEqual(['close:1001:server shutting down']);
  now = 299;
  closes.sweep();
  expect(wsCalls).toHaveLength(1);
  now = 300;
  closes.sweep();
  expect(wsCalls).toEqual(['close:1001:server shutting down', 'close:1001:server shutting down']);
  expect(closes.releasedLate).toBe(1);
  closes.close();
});

test('a client whose own Close is held keeps that hold when the worker stops', () => {
  let now = 0;
  const closes = new HeldCloses(1000, recordingLogger().log, () => now);
  const link = new FakeLink();
  const { entry, socket } = client(link, 6);
  closes.watch(entry);
  link.pending.add(6);
  socket._receiver.emit('conclude', 1000, Buffer.alloc(0));
  closes.closeAfterReplies(entry, 1012, 'server reloading', 800);
  expect(wsCalls).toEqual([]);
  link.pending.delete(6);
  now = 1;
  closes.settle(link as unknown as ServiceLink);
  // Its Close is answered with its own code, once: no 1012 after it.
  expect(wsCalls).toEqual(['conclude:1000:']);
  closes.close();
});
