/**
 * The client against a fake socket (fake-socket.ts), with jest's fake timers
 * and a fixed Math.random: each close code's policy, the queue and its
 * overflow report, requests and their timeouts and disconnects.
 */
import {
  connect,
  DisconnectedError,
  GaveUpError,
  QueueFullError,
  RequestError,
  SwitchyardClientError,
  TimeoutError,
  type ClientOptions,
  type ReconnectingInfo,
  type SwitchyardClient,
  type UndeliveredInfo,
} from '../../src/client';
import { FakeSocket, FakeWsSocket } from './fake-socket';

let clients: SwitchyardClient[] = [];

beforeEach(() => {
  jest.useFakeTimers();
  jest.spyOn(Math, 'random').mockReturnValue(0.5);
  FakeSocket.reset();
});

afterEach(() => {
  for (const client of clients) client.close();
  clients = [];
  jest.useRealTimers();
  jest.restoreAllMocks();
});

/** A client on the fake socket whose first attempt exists (the constructor is resolved asynchronously). */
async function start(options: ClientOptions = {}): Promise<SwitchyardClient> {
  const client = connect('ws://test.invalid/chat', { WebSocket: FakeSocket, ...options });
  clients.push(client);
  await jest.advanceTimersByTimeAsync(0);
  return client;
}

async function openClient(options: ClientOptions = {}): Promise<{ client: SwitchyardClient; socket: FakeSocket }> {
  const client = await start(options);
  const socket = FakeSocket.last();
  socket.open();
  return { client, socket };
}

function record<T>(client: SwitchyardClient, event: 'reconnecting' | 'undelivered' | 'error' | 'close'): T[] {
  const seen: T[] = [];
  client.on(event, (value) => seen.push(value as T));
  return seen;
}

describe('connecting', () => {
  test('opens the URL given, with binary as ArrayBuffer, and emits open', async () => {
    const client = await start({ protocols: ['v1'] });
    const socket = FakeSocket.last();
    expect(socket.url).toBe('ws://test.invalid/chat');
    expect(socket.protocols).toEqual(['v1']);
    expect(socket.binaryType).toBe('arraybuffer');
    const opens: unknown[] = [];
    client.on('open', (info) => opens.push(info));
    socket.open();
    expect(client.state).toBe('open');
    expect(opens).toEqual([{ reconnect: false }]);
  });

  test('http(s) URLs become ws(s); other schemes and bad options throw SY_CLIENT_INVALID_ARGUMENT at once', () => {
    const client = connect('https://example.invalid/chat', { WebSocket: FakeSocket, reconnect: false });
    clients.push(client);
    expect(client.url).toBe('wss://example.invalid/chat');
    expect(() => connect('ftp://x/y', { WebSocket: FakeSocket })).toThrow(expect.objectContaining({ code: 'SY_CLIENT_INVALID_ARGUMENT' }));
    expect(() => connect('ws://x/y', { WebSocket: FakeSocket, baseDelay: -1 })).toThrow(/options\.baseDelay must be/);
    expect(() => connect('ws://x/y', { WebSocket: FakeSocket, closeCodes: { 4000: 'sometimes' as never } })).toThrow(/options\.closeCodes\[4000\]/);
    expect(() => connect('ws://x/y', { WebSocket: FakeSocket, maxDelay: 100 })).toThrow(/options\.maxDelay/);
  });

  test('an attempt that does not open within connectTimeout is abandoned and retried', async () => {
    const client = await start({ connectTimeout: 1000 });
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    const first = FakeSocket.last();
    await jest.advanceTimersByTimeAsync(1000);
    expect(first.closedWith).toBeDefined();
    expect(reconnecting).toEqual([{ attempt: 1, delay: 250, code: 1006, status: undefined }]);
    await jest.advanceTimersByTimeAsync(250);
    expect(FakeSocket.instances).toHaveLength(2);
  });
});

describe('reconnection by close code', () => {
  test.each([
    [1001, 250],
    [1005, 250],
    [1006, 250],
    [1014, 250],
  ])('%i: retry with full jitter (random 0.5 of a 500 ms ceiling)', async (code, delay) => {
    const { client, socket } = await openClient();
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    socket.serverClose(code);
    expect(client.state).toBe('reconnecting');
    expect(reconnecting).toEqual([{ attempt: 1, delay, code, status: undefined }]);
    await jest.advanceTimersByTimeAsync(delay - 1);
    expect(FakeSocket.instances).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  test('1012: at once, within restartJitter', async () => {
    const { client, socket } = await openClient({ restartJitter: 200 });
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    socket.serverClose(1012, 'service restart');
    expect(reconnecting[0]?.delay).toBe(100);
    await jest.advanceTimersByTimeAsync(100);
    expect(FakeSocket.instances).toHaveLength(2);
  });

  test('1013: backs off harder, and keeps backing off while each reconnect is closed with 1013 at once', async () => {
    const { client, socket } = await openClient();
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    socket.serverClose(1013, 'try again later');
    for (let i = 0; i < 4; i++) {
      await jest.advanceTimersByTimeAsync(reconnecting[reconnecting.length - 1]?.delay ?? 0);
      FakeSocket.last().open();
      FakeSocket.last().serverClose(1013);
    }
    // 0.75 of a ceiling doubling from busyDelay (2000 ms): the count is not reset by connections that last no time.
    expect(reconnecting.map((info) => [info.attempt, info.delay])).toEqual([
      [1, 1500],
      [2, 3000],
      [3, 6000],
      [4, 12_000],
      [5, 22_500],
    ]);
  });

  test('a connection that lasted stableAfter resets the attempt count', async () => {
    const { client, socket } = await openClient({ stableAfter: 1000 });
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    socket.serverClose(1006);
    await jest.advanceTimersByTimeAsync(250);
    FakeSocket.last().serverClose(1006); // never opened: attempt 2
    await jest.advanceTimersByTimeAsync(500);
    FakeSocket.last().open();
    await jest.advanceTimersByTimeAsync(1000);
    FakeSocket.last().serverClose(1006);
    expect(reconnecting.map((info) => info.attempt)).toEqual([1, 2, 1]);
  });

  test.each([1000, 1002, 1003, 1007, 1008, 1009, 1011, 4000, 4321])('%i: final, stops and reports', async (code) => {
    const { client, socket } = await openClient();
    const errors = record<SwitchyardClientError>(client, 'error');
    const closes = record<unknown>(client, 'close');
    socket.serverClose(code, 'why');
    expect(client.state).toBe('closed');
    expect(closes).toEqual([{ code, reason: 'why', reconnect: false }]);
    if (code === 1000) {
      expect(errors).toEqual([]); // the server ending the session on purpose is not a failure
    } else {
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(GaveUpError);
      expect(errors[0]).toMatchObject({ code: 'SY_CLIENT_GAVE_UP', closeCode: code, reason: 'why' });
    }
    await jest.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  test('closeCodes overrides make a final code retry and a retried one final', async () => {
    const { client, socket } = await openClient({ closeCodes: { 1011: 'retry', 1001: 'final' } });
    socket.serverClose(1011);
    expect(client.state).toBe('reconnecting');
    await jest.advanceTimersByTimeAsync(250);
    FakeSocket.last().open();
    FakeSocket.last().serverClose(1001);
    expect(client.state).toBe('closed');
  });

  test('reconnect: false and maxAttempts give up with GaveUpError', async () => {
    const once = await openClient({ reconnect: false });
    const errors = record<GaveUpError>(once.client, 'error');
    once.socket.serverClose(1006);
    expect(once.client.state).toBe('closed');
    expect(errors[0]?.closeCode).toBe(1006);

    const { client, socket } = await openClient({ maxAttempts: 2 });
    const gaveUp = record<GaveUpError>(client, 'error');
    socket.serverClose(1006);
    await jest.advanceTimersByTimeAsync(250);
    FakeSocket.last().serverClose(1006);
    await jest.advanceTimersByTimeAsync(500);
    FakeSocket.last().serverClose(1006);
    expect(client.state).toBe('closed');
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]?.attempts).toBe(2);
  });

  test('reconnected and onReconnect: the hook sends before the queue flushes', async () => {
    const order: string[] = [];
    const { client, socket } = await openClient({
      onReconnect(reconnected) {
        order.push(`hook ${reconnected.reconnects}`);
        reconnected.send('hello again');
      },
    });
    client.on('reconnected', (info) => order.push(`reconnected ${info.reconnects}`));
    socket.serverClose(1012);
    client.send('queued 1');
    client.send('queued 2');
    expect(client.queued).toBe(2);
    await jest.advanceTimersByTimeAsync(150);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual(['hello again', 'queued 1', 'queued 2']);
    expect(order).toEqual(['hook 1', 'reconnected 1']);
    expect(client.reconnects).toBe(1);
  });

  test('reconnectNow tries at once while waiting', async () => {
    const { client, socket } = await openClient();
    socket.serverClose(1013);
    expect(client.reconnectNow()).toBe(true);
    expect(FakeSocket.instances).toHaveLength(2);
    expect(client.reconnectNow()).toBe(false);
  });
});

describe('the browser network', () => {
  let listeners: Map<string, () => void>;
  let navigatorState: { onLine: boolean };

  beforeEach(() => {
    listeners = new Map();
    navigatorState = { onLine: true };
    Object.assign(globalThis, {
      navigator: navigatorState,
      addEventListener: (type: string, listener: () => void) => listeners.set(type, listener),
      removeEventListener: (type: string) => listeners.delete(type),
    });
  });

  afterEach(() => {
    const global = globalThis as Record<string, unknown>;
    delete global.addEventListener;
    delete global.removeEventListener;
    Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
  });

  test('offline: no attempt until the browser is online again, then at once', async () => {
    const { client, socket } = await openClient();
    navigatorState.onLine = false;
    socket.serverClose(1006);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    navigatorState.onLine = true;
    listeners.get('online')?.();
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last().open();
    expect(client.state).toBe('open');
    client.close();
    expect(listeners.has('online')).toBe(false);
  });
});

describe('the offline queue', () => {
  test('sends while not connected are queued and flushed in order; JSON and binary kept', async () => {
    const client = await start();
    client.send('first');
    client.send({ n: 2 });
    const bytes = new Uint8Array([1, 2, 3]);
    client.send(bytes);
    expect(client.queued).toBe(3);
    const socket = FakeSocket.last();
    socket.open();
    expect(socket.sent).toEqual(['first', '{"n":2}', bytes]);
    expect(client.queued).toBe(0);
    client.send('direct');
    expect(socket.sent[3]).toBe('direct');
  });

  test('a send during the close handshake (readyState CLOSING) is queued, not lost', async () => {
    const { client, socket } = await openClient();
    socket.readyState = 2;
    expect(client.send('late')).toBe(true);
    expect(socket.sent).toEqual([]);
    socket.serverClose(1012);
    await jest.advanceTimersByTimeAsync(150);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual(['late']);
  });

  test('overflow by count: send returns false and one undelivered event carries the message', async () => {
    const client = await start({ maxQueuedMessages: 2 });
    const undelivered = record<UndeliveredInfo>(client, 'undelivered');
    expect(client.send('a')).toBe(true);
    expect(client.send('b')).toBe(true);
    expect(client.send('c')).toBe(false);
    expect(undelivered).toEqual([{ reason: 'overflow', messages: ['c'] }]);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual(['a', 'b']);
  });

  test('overflow by bytes (UTF-8)', async () => {
    const client = await start({ maxQueuedBytes: 10 });
    const undelivered = record<UndeliveredInfo>(client, 'undelivered');
    expect(client.send('€€€')).toBe(true); // 9 bytes
    expect(client.send('ab')).toBe(false);
    expect(client.send('a')).toBe(true);
    expect(undelivered).toEqual([{ reason: 'overflow', messages: ['ab'] }]);
  });

  test('what is still queued when the client gives up is reported, not dropped', async () => {
    const { client, socket } = await openClient({ maxAttempts: 1 });
    const undelivered = record<UndeliveredInfo>(client, 'undelivered');
    socket.serverClose(1006);
    client.send('one');
    client.send({ two: 2 });
    await jest.advanceTimersByTimeAsync(250);
    FakeSocket.last().serverClose(1006);
    expect(client.state).toBe('closed');
    expect(undelivered).toEqual([{ reason: 'closed', messages: ['one', { two: 2 }] }]);
    expect(client.send('after')).toBe(false);
    expect(undelivered[1]).toEqual({ reason: 'closed', messages: ['after'] });
  });

  test('close() reports the queue', async () => {
    const client = await start();
    const undelivered = record<UndeliveredInfo>(client, 'undelivered');
    client.send('never');
    client.close();
    expect(undelivered).toEqual([{ reason: 'closed', messages: ['never'] }]);
    expect(FakeSocket.last().closedWith).toEqual({ code: 1000, reason: '' });
  });
});

describe('requests', () => {
  function answer(socket: FakeSocket, index: number, body: Record<string, unknown>): void {
    const request = socket.sentJson()[index] as { $req: number };
    socket.message(JSON.stringify({ $res: request.$req, ...body }));
  }

  test('an answer resolves; the envelope is the server\'s; answers are not emitted as messages', async () => {
    const { client, socket } = await openClient();
    const messages = record<unknown>(client, 'message' as 'close');
    const reply = client.request({ q: 1 });
    expect(socket.sentJson()).toEqual([{ $req: 1, data: { q: 1 } }]);
    answer(socket, 0, { data: { a: 2 } });
    await expect(reply).resolves.toEqual({ a: 2 });
    socket.message('plain');
    expect(messages).toEqual(['plain']);
  });

  test('an error answer rejects with RequestError carrying the server\'s code', async () => {
    const { client, socket } = await openClient();
    const reply = client.request('x');
    answer(socket, 0, { error: { code: 'SY_ERR_HANDLER_FAILED', message: 'boom' } });
    await expect(reply).rejects.toBeInstanceOf(RequestError);
    await expect(reply).rejects.toMatchObject({ code: 'SY_ERR_HANDLER_FAILED', message: 'boom' });
  });

  test('no answer within the timeout: TimeoutError; the late answer is dropped, not a message', async () => {
    const { client, socket } = await openClient();
    const messages = record<unknown>(client, 'message' as 'close');
    const reply = client.request('slow', { timeout: 1000 });
    const settled = expect(reply).rejects.toEqual(expect.objectContaining({ code: 'SY_CLIENT_TIMEOUT', timeout: 1000 }));
    await jest.advanceTimersByTimeAsync(1000);
    await settled;
    await expect(reply).rejects.toBeInstanceOf(TimeoutError);
    answer(socket, 0, { data: 'too late' });
    expect(messages).toEqual([]);
  });

  test('a disconnect rejects sent requests with DisconnectedError (sent: true), never resends them', async () => {
    const { client, socket } = await openClient();
    const reply = client.request('in flight');
    socket.serverClose(1012, 'service restart');
    await expect(reply).rejects.toBeInstanceOf(DisconnectedError);
    await expect(reply).rejects.toMatchObject({ code: 'SY_CLIENT_DISCONNECTED', sent: true, closeCode: 1012, reason: 'service restart' });
    await jest.advanceTimersByTimeAsync(150);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual([]);
  });

  test('a request made while offline waits in the queue and is sent on reconnect', async () => {
    const { client, socket } = await openClient();
    socket.serverClose(1006);
    const reply = client.request('later');
    expect(client.queued).toBe(1);
    await jest.advanceTimersByTimeAsync(250);
    const next = FakeSocket.last();
    next.open();
    expect(next.sentJson()).toEqual([{ $req: 1, data: 'later' }]);
    answer(next, 0, { data: 'ok' });
    await expect(reply).resolves.toBe('ok');
  });

  test('a queued request that times out leaves the queue', async () => {
    const client = await start();
    const reply = client.request('x', { timeout: 500 });
    const settled = expect(reply).rejects.toBeInstanceOf(TimeoutError);
    await jest.advanceTimersByTimeAsync(500);
    await settled;
    expect(client.queued).toBe(0);
    FakeSocket.last().open();
    expect(FakeSocket.last().sent).toEqual([]);
  });

  test('a full queue rejects the request with QueueFullError', async () => {
    const client = await start({ maxQueuedMessages: 1 });
    client.send('fills it');
    await expect(client.request('x')).rejects.toBeInstanceOf(QueueFullError);
    await expect(client.request('x')).rejects.toMatchObject({ code: 'SY_CLIENT_QUEUE_FULL' });
  });

  test('close() rejects queued requests with sent: false; requests after close reject at once', async () => {
    const client = await start();
    const queued = client.request('x');
    client.close();
    await expect(queued).rejects.toMatchObject({ code: 'SY_CLIENT_DISCONNECTED', sent: false });
    await expect(client.request('y')).rejects.toMatchObject({ code: 'SY_CLIENT_DISCONNECTED', sent: false });
  });

  test('data JSON cannot hold throws at once', async () => {
    const { client } = await openClient();
    expect(() => client.request({ n: 1n })).toThrow(expect.objectContaining({ code: 'SY_CLIENT_INVALID_ARGUMENT' }));
    expect(() => client.send(undefined)).toThrow(SwitchyardClientError);
  });
});

describe('listeners that close the client', () => {
  test('close() from a close listener schedules nothing and reports no reconnect', async () => {
    const { client, socket } = await openClient();
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    client.on('close', function onClose(info) {
      if (info.reconnect) client.close();
    });
    socket.serverClose(1006);
    expect(client.state).toBe('closed');
    expect(reconnecting).toEqual([]);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  test('close() from onReconnect: no open or reconnected event, the queue reported', async () => {
    const { client, socket } = await openClient({ onReconnect: (reconnected) => reconnected.close() });
    const events: string[] = [];
    client.on('open', () => events.push('open'));
    client.on('reconnected', () => events.push('reconnected'));
    const undelivered = record<UndeliveredInfo>(client, 'undelivered');
    socket.serverClose(1012);
    client.send('queued');
    await jest.advanceTimersByTimeAsync(150);
    FakeSocket.last().open();
    expect(events).toEqual([]);
    expect(client.state).toBe('closed');
    expect(FakeSocket.last().sent).toEqual([]);
    expect(undelivered).toEqual([{ reason: 'closed', messages: ['queued'] }]);
  });
});

describe('a refused upgrade (seen over ws)', () => {
  function lastWs(): FakeWsSocket {
    return FakeSocket.last() as FakeWsSocket;
  }

  test('503 with Retry-After: busy, waiting the Retry-After first', async () => {
    const client = await start({ WebSocket: FakeWsSocket });
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    lastWs().refuse(503, { 'retry-after': '3' });
    expect(lastWs().terminated).toBe(true);
    // 3000 ms of Retry-After + 0.75 of the first busy ceiling (2000 ms).
    expect(reconnecting).toEqual([{ attempt: 1, delay: 4500, code: 1006, status: 503 }]);
    await jest.advanceTimersByTimeAsync(4500);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last().open();
    FakeSocket.last().serverClose(1006);
    // The status belonged to that attempt only: a later plain 1006 is a retry (attempt 2: that connection lasted no time).
    expect(reconnecting[1]).toEqual({ attempt: 2, delay: 500, code: 1006, status: undefined });
  });

  test('429: busy', async () => {
    const client = await start({ WebSocket: FakeWsSocket });
    const reconnecting = record<ReconnectingInfo>(client, 'reconnecting');
    lastWs().refuse(429);
    expect(reconnecting).toEqual([{ attempt: 1, delay: 1500, code: 1006, status: 429 }]);
  });

  test.each([401, 403, 404])('%i: final, reported with the status', async (status) => {
    const client = await start({ WebSocket: FakeWsSocket });
    const errors = record<GaveUpError>(client, 'error');
    lastWs().refuse(status);
    expect(client.state).toBe('closed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'SY_CLIENT_GAVE_UP', status, closeCode: 1006 });
  });

  test('httpStatuses overrides: a 404 retried', async () => {
    const client = await start({ WebSocket: FakeWsSocket, httpStatuses: { 404: 'retry' } });
    lastWs().refuse(404);
    expect(client.state).toBe('reconnecting');
  });
});
