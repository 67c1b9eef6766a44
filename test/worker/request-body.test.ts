import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import { BodyBudget, readBody, type BodyOutcome } from '../../src/worker/request-body';

test('BodyBudget: takes what fits, refuses the rest whole, gives back', () => {
  const budget = new BodyBudget(10);
  expect([budget.take(6), budget.take(5), budget.fits(4), budget.take(4)]).toEqual([true, false, true, true]);
  expect(budget.held).toBe(10);
  budget.give(6);
  expect([budget.held, budget.fits(6), budget.fits(7)]).toEqual([4, true, false]);
});

describe('readBody on an in-process node:http server', () => {
  let server: http.Server;
  let port: number;
  const budget = new BodyBudget(100);
  const outcomes: Array<{ outcome: BodyOutcome; heldDuring: number }> = [];
  let settled: (() => void) | undefined;
  const sockets = new Set<net.Socket>();

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      readBody(request, budget, { maxBytes: 50, idleTimeout: 200 }, (outcome) => {
        outcomes.push({ outcome, heldDuring: budget.held });
        response.end(outcome.kind);
        settled?.();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterEach(() => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    outcomes.length = 0;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function next(): Promise<void> {
    return new Promise((resolve) => (settled = resolve));
  }

  function send(head: string, body = ''): net.Socket {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`${head}\r\n\r\n${body}`));
    socket.on('error', () => undefined);
    sockets.add(socket);
    return socket;
  }

  test('a complete body holds its bytes while onDone runs, then gives them back', async () => {
    const done = next();
    send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5', 'hello');
    await done;
    expect(outcomes[0]?.outcome).toEqual({ kind: 'complete', body: Buffer.from('hello') });
    expect(outcomes[0]?.heldDuring).toBe(5);
    expect(budget.held).toBe(0);
  });

  test('a declared length over the limit is refused before any byte is read', async () => {
    const done = next();
    send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 51');
    await done;
    expect(outcomes[0]?.outcome.kind).toBe('tooLarge');
  });

  test('a declared length that does not fit the budget now is refused at once; the budget is left as it was', async () => {
    budget.take(60);
    try {
      const done = next();
      send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 41');
      await done;
      expect(outcomes[0]?.outcome.kind).toBe('overBudget');
      expect(budget.held).toBe(60);
    } finally {
      budget.give(60);
    }
  });

  test('a chunked body past the budget as it arrives is refused, and its bytes given back', async () => {
    budget.take(90);
    try {
      const done = next();
      send('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked', '8\r\n12345678\r\n8\r\n12345678\r\n');
      await done;
      expect(outcomes[0]?.outcome.kind).toBe('overBudget');
      expect(budget.held).toBe(90);
    } finally {
      budget.give(90);
    }
  });

  test('a body that pauses longer than the idle timeout ends as idle; one whose client leaves, as aborted', async () => {
    const idle = next();
    send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10', 'abc');
    await idle;
    expect(outcomes[0]?.outcome.kind).toBe('idle');
    expect(budget.held).toBe(0);
    const aborted = next();
    const leaving = send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10', 'abc');
    // Leave once the server holds the three bytes it got.
    const poll = setInterval(() => {
      if (budget.held === 3) {
        clearInterval(poll);
        leaving.destroy();
      }
    }, 5);
    await aborted;
    clearInterval(poll);
    expect(outcomes[1]?.outcome.kind).toBe('aborted');
    expect(outcomes[1]?.heldDuring).toBe(3);
    expect(budget.held).toBe(0);
  });
  test('a body that came with its head sets no idle timer; one still arriving sets it, and a pause after its first bytes still ends it', async () => {
    const setTimeoutSpy = jest.spyOn(http.IncomingMessage.prototype, 'setTimeout');
    try {
      const done = next();
      send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5', 'hello');
      await done;
      expect(outcomes[0]?.outcome).toEqual({ kind: 'complete', body: Buffer.from('hello') });
      // One timer set and cleared per request before, whatever its body.
      expect(setTimeoutSpy).not.toHaveBeenCalled();
      // Head first, the body's first bytes later: the clock runs from the head, and the pause after those bytes ends it.
      const idle = next();
      const socket = send('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10');
      const poll = setInterval(() => {
        if (setTimeoutSpy.mock.calls.length > 0) {
          clearInterval(poll);
          socket.write('abc');
        }
      }, 5);
      await idle;
      clearInterval(poll);
      expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
      expect(outcomes[1]?.outcome.kind).toBe('idle');
      expect(budget.held).toBe(0);
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });
});
