/**
 * Slow and partial HTTP request bodies (issue 11, item 1): a body that stalls
 * or trickles is answered 408 within the body timeouts (not node's 300 s),
 * one address holds at most `maxHttpConnectionsPerIp` plain HTTP connections
 * per worker, and the body bytes a worker buffers are bounded by
 * `maxBufferedRequestBytes` (503 past it), while a request from another
 * client is still served. One worker, so per-worker limits are exact; raw
 * sockets, some from a second loopback address (127.0.0.2).
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { SwitchyardOptions } from '../../src/options';
import { closeAll, FIXTURES, startCluster } from '../helpers/cluster';
import { expectNothingWithin } from '../helpers/expect-nothing';
import { Waiter } from '../helpers/line-peer';

const REQUESTS = path.join(FIXTURES, 'requests.ts');
const KiB = 1024;

/** A raw HTTP connection: what the server sent, and its end. */
class Peer {
  text = '';
  readonly closed: Promise<void>;
  readonly connected: Promise<void>;
  private readonly waiter = new Waiter();

  constructor(readonly socket: net.Socket) {
    peers.add(this);
    this.connected = new Promise((resolve) => socket.once('connect', () => resolve()));
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.waiter.notify();
    });
    // A reset after the answer is fine: what matters is what arrived.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      peers.delete(this);
      this.waiter.notify();
    });
  }

  /** The status of the first final response (a 100 Continue is skipped), or undefined. */
  get status(): number | undefined {
    const match = /HTTP\/1\.1 ([2-5]\d\d) /.exec(this.text);
    return match === null ? undefined : Number(match[1]);
  }

  /** Resolves once the server sent `text` (rejects if the connection ends first). */
  async saw(text: string): Promise<void> {
    // Bounded by the test's own timeout, as before: the waiter's limit is only a backstop.
    await this.waiter.until(() => this.text.includes(text) || this.socket.destroyed, () => `"${text}" in ${JSON.stringify(this.text)}`, 60_000);
    if (!this.text.includes(text)) throw new Error(`closed before "${text}" arrived: ${JSON.stringify(this.text)}`);
  }
}

const peers = new Set<Peer>();

function open(port: number, from = '127.0.0.1'): Peer {
  return new Peer(net.connect({ port, host: '127.0.0.1', localAddress: from }));
}

/**
 * Sends the head of a POST to the requests service that declares `length`
 * body bytes, waits until the worker dispatched it (its 100 Continue), then
 * sends `sent` bytes of the body and stops.
 */
async function partialBody(port: number, length: number, sent: number, from?: string): Promise<Peer> {
  const peer = open(port, from);
  await peer.connected;
  peer.socket.write(`POST /services/req/upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`);
  await peer.saw('100 Continue');
  if (sent > 0) peer.socket.write(Buffer.alloc(sent, 0x61));
  return peer;
}

/** Fails with `what` unless `promise` settles within `ms`: before the fix these waits would last node's 300 s. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A complete small request from `from`: the worker still serves it. */
async function served(port: number, from: string): Promise<void> {
  const peer = open(port, from);
  await peer.connected;
  peer.socket.write('POST /services/req/ok HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
  await within(5000, peer.closed, 'a normal request');
  expect(peer.status).toBe(200);
  expect(peer.text).toContain('"body":"hello"');
}

function cluster(options: SwitchyardOptions): Promise<{ port: number }> {
  return startCluster({ workers: 1, services: { req: REQUESTS }, ...options });
}

afterEach(async () => {
  for (const peer of peers) peer.socket.destroy();
  peers.clear();
  await closeAll();
});

describe('body timeouts', () => {
  test('a body that stalls one byte short is answered 408 after requestBodyIdleTimeout, and its connection closed', async () => {
    const { port } = await cluster({ handshakeTimeout: 500, requestBodyIdleTimeout: 400, requestBodyTimeout: 5000 });
    const started = Date.now();
    // The case: 1 MiB declared (the default maxRequestBody), all but one byte sent, then nothing.
    const peer = await partialBody(port, 1024 * KiB, 1024 * KiB - 1);
    await within(3000, peer.closed, 'the stalled body');
    expect(peer.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(3000);
    await served(port, '127.0.0.2');
  });

  test('a body that trickles (never idle for long) is answered 408 after requestBodyTimeout in all', async () => {
    const { port } = await cluster({ handshakeTimeout: 500, requestBodyIdleTimeout: 2000, requestBodyTimeout: 1000 });
    const peer = await partialBody(port, 64 * KiB, 1);
    // One byte every 100 ms, well inside the idle timeout: only the total ends it. Bounded: at most 50 bytes (5 s).
    let sent = 0;
    const trickle = setInterval(() => {
      if (sent++ < 50 && !peer.socket.destroyed) peer.socket.write('a');
    }, 100);
    try {
      await within(4000, peer.closed, 'the trickling body');
    } finally {
      clearInterval(trickle);
    }
    expect(peer.status).toBe(408);
    expect(sent).toBeLessThan(40);
    await served(port, '127.0.0.2');
  });

  test('a slow body that keeps within both timeouts reaches the service', async () => {
    const { port } = await cluster({ handshakeTimeout: 500, requestBodyIdleTimeout: 1000, requestBodyTimeout: 4000 });
    const peer = await partialBody(port, 4, 2);
    await expectNothingWithin(300, peer.closed, 'the connection of a body within its timeouts');
    peer.socket.write('cd');
    await peer.saw('"body":"aacd"');
    expect(peer.status).toBe(200);
  });
});

test('the time a service takes to answer is not body time: a request answered after requestBodyTimeout still gets its answer', async () => {
  // handshakeTimeout at its least (500 ms), which the whole-request timeout is raised to.
  const { port } = await cluster({ handshakeTimeout: 500, requestBodyTimeout: 300, requestBodyIdleTimeout: 300 });
  // The fixture's /slow answers after 1.5 s, three times the whole-request timeout.
  const response = await fetch(`http://127.0.0.1:${port}/services/req/slow`, { method: 'POST', body: 'x' });
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('late');
});

describe('maxHttpConnectionsPerIp', () => {
  test('the connection past the cap from one address gets 429 with Retry-After; another address and a freed slot are served', async () => {
    const { port } = await cluster({ maxHttpConnectionsPerIp: 3 });
    const held = await Promise.all([0, 1, 2].map(() => partialBody(port, 100, 10)));
    const extra = open(port);
    await extra.connected;
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await within(3000, extra.saw('\r\n\r\n'), 'the answer past the cap');
    expect(extra.status).toBe(429);
    expect(extra.text).toContain('Retry-After: 1');
    await within(3000, extra.closed, 'the refused connection closing');
    // Another address has its own count.
    await served(port, '127.0.0.2');
    // A held connection leaves: its slot is free again.
    const leaving = held[0] as Peer;
    leaving.socket.destroy();
    await leaving.closed;
    const again = open(port);
    await again.connected;
    again.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    await within(3000, again.closed, 'the request after a slot was freed');
    expect(again.status).toBe(200);
  });
});

describe('maxBufferedRequestBytes', () => {
  test('partial bodies past the worker budget get 503 with Retry-After; a request from another client works; leaving frees the budget', async () => {
    const { port } = await cluster({ maxRequestBody: 64 * KiB, maxBufferedRequestBytes: 256 * KiB, requestBodyIdleTimeout: 20_000, requestBodyTimeout: 20_000 });
    // Eight bodies of 60 KiB (of 64 KiB declared) hold 480 KiB: at most four fit in 256 KiB.
    const attackers = await Promise.all(Array.from({ length: 8 }, () => partialBody(port, 64 * KiB, 60 * KiB)));
    const refused = new Promise<Peer[]>((resolve) => {
      const done: Peer[] = [];
      for (const peer of attackers) {
        void peer.closed.then(() => {
          done.push(peer);
          if (done.length === 4) resolve(done);
        });
      }
    });
    const first = await within(5000, refused, 'four refusals past the budget');
    for (const peer of first) {
      expect(peer.status).toBe(503);
      expect(peer.text).toContain('Retry-After: 1');
    }
    await served(port, '127.0.0.2');
    for (const peer of attackers) peer.socket.destroy();
    await Promise.all(attackers.map((peer) => peer.closed));
    // The budget came back: a full-size body goes through.
    const full = await partialBody(port, 64 * KiB, 64 * KiB, '127.0.0.2');
    await within(5000, full.saw('"transport":"http"'), 'a full body after the attackers left');
    expect(full.status).toBe(200);
  });
});
