import { BatchQueue, type IpcEndpoint } from '../../src/ipc/batch-queue';

class FakeEndpoint implements IpcEndpoint {
  connected = true;
  readonly writes: unknown[][] = [];
  readonly callbacks: Array<(error: Error | null) => void> = [];
  accept = true;

  send(message: unknown, callback: (error: Error | null) => void): boolean {
    this.writes.push(message as unknown[]);
    this.callbacks.push(callback);
    return this.accept;
  }

  completeAll(error: Error | null = null): void {
    for (const callback of this.callbacks.splice(0)) callback(error);
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('messages pushed in one turn leave in one write, in order', async () => {
  const endpoint = new FakeEndpoint();
  const queue = new BatchQueue<number>(endpoint, { maxMessages: 100, maxBytes: 1000 });
  for (let i = 0; i < 5; i++) queue.push(i, 1);
  expect(endpoint.writes).toHaveLength(0);
  await nextTurn();
  expect(endpoint.writes).toEqual([[0, 1, 2, 3, 4]]);
  queue.push(5, 1);
  await nextTurn();
  expect(endpoint.writes).toEqual([[0, 1, 2, 3, 4], [5]]);
});

test('backpressure pauses writing until the write completes, then resumes in order', async () => {
  const endpoint = new FakeEndpoint();
  endpoint.accept = false;
  const queue = new BatchQueue<number>(endpoint, { maxMessages: 100, maxBytes: 1000 });
  queue.push(1, 1);
  await nextTurn();
  queue.push(2, 1);
  queue.push(3, 1);
  await nextTurn();
  expect(endpoint.writes).toEqual([[1]]);
  expect(queue.depth).toBe(2);
  endpoint.accept = true;
  endpoint.completeAll();
  await nextTurn();
  expect(endpoint.writes).toEqual([[1], [2, 3]]);
  expect(queue.depth).toBe(0);
});

test('the bound refuses messages (counted) instead of growing; mustKeep passes it', async () => {
  const endpoint = new FakeEndpoint();
  endpoint.accept = false;
  const queue = new BatchQueue<string>(endpoint, { maxMessages: 2, maxBytes: 100 });
  queue.push('a', 10);
  await nextTurn();
  expect(queue.push('b', 10)).toBe(true);
  expect(queue.push('c', 10)).toBe(true);
  expect(queue.push('d', 10)).toBe(false);
  expect(queue.dropped).toBe(1);
  expect(queue.push('close', 10, true)).toBe(true);
  expect(queue.depth).toBe(3);
  expect(new BatchQueue<string>(endpoint, { maxMessages: 10, maxBytes: 15 }).push('big', 16)).toBe(false);
});

test('large queues are split into batches of maxBatch', async () => {
  const endpoint = new FakeEndpoint();
  const queue = new BatchQueue<number>(endpoint, { maxMessages: 100, maxBytes: 1000, maxBatch: 3 });
  for (let i = 0; i < 7; i++) queue.push(i, 1);
  await nextTurn();
  expect(endpoint.writes).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
});

test('batches are split by bytes too; a message larger than the bound goes alone', async () => {
  const endpoint = new FakeEndpoint();
  const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000, maxBatchBytes: 10 });
  for (const [message, size] of [['a', 4], ['b', 4], ['c', 4], ['huge', 50], ['d', 1]] as const) queue.push(message, size);
  await nextTurn();
  expect(endpoint.writes).toEqual([['a', 'b'], ['c'], ['huge'], ['d']]);
  expect(queue.bytes).toBe(0);
});

test('drained() waits for queued messages and writes in flight', async () => {
  const endpoint = new FakeEndpoint();
  const queue = new BatchQueue<number>(endpoint, { maxMessages: 10, maxBytes: 100 });
  let drained = false;
  queue.push(1, 1);
  const done = queue.drained().then(() => {
    drained = true;
  });
  await nextTurn();
  expect(drained).toBe(false);
  endpoint.completeAll();
  await done;
  expect(drained).toBe(true);
});

test('a closed channel fails the queue once and refuses further pushes', async () => {
  const endpoint = new FakeEndpoint();
  const errors: Error[] = [];
  const queue = new BatchQueue<number>(endpoint, { maxMessages: 10, maxBytes: 100, onError: (e) => errors.push(e) });
  endpoint.connected = false;
  queue.push(1, 1);
  await nextTurn();
  expect(errors).toHaveLength(1);
  expect(queue.push(2, 1)).toBe(false);
  await queue.drained();
});

describe('coalescing (coalesceMs)', () => {
  const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  test('a lone coalescing push leaves at the end of its turn, as any other', async () => {
    const endpoint = new FakeEndpoint();
    const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000, coalesceMs: 50 });
    queue.push('connect-1', 1, true, true);
    await nextTurn();
    expect(endpoint.writes).toEqual([['connect-1']]);
    queue.close();
  });

  test('one that follows another within coalesceMs waits for company, then all leave in one write', async () => {
    const endpoint = new FakeEndpoint();
    const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000, coalesceMs: 40 });
    queue.push('connect-1', 1, true, true);
    await nextTurn();
    const started = performance.now();
    queue.push('connect-2', 1, true, true);
    await nextTurn();
    queue.push('connect-3', 1, true, true);
    await nextTurn();
    expect(endpoint.writes).toEqual([['connect-1']]);
    endpoint.completeAll();
    // drained() resolves once the waiting write was made and completed.
    const drained = queue.drained();
    await new Promise<void>((resolve) => {
      const send = endpoint.send.bind(endpoint);
      endpoint.send = (message, callback) => {
        const accepted = send(message, callback);
        endpoint.completeAll();
        resolve();
        return accepted;
      };
    });
    await drained;
    expect(endpoint.writes).toEqual([['connect-1'], ['connect-2', 'connect-3']]);
    // Timers may fire a millisecond early by performance.now(): allow it.
    expect(performance.now() - started).toBeGreaterThanOrEqual(38);
    queue.close();
  });

  test('a push that may not wait takes what waits along at the end of its turn, in order', async () => {
    const endpoint = new FakeEndpoint();
    const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000, coalesceMs: 10_000 });
    queue.push('connect-1', 1, true, true);
    await nextTurn();
    queue.push('connect-2', 1, true, true);
    await nextTurn();
    expect(endpoint.writes).toEqual([['connect-1']]);
    queue.push('message', 1);
    await nextTurn();
    expect(endpoint.writes).toEqual([['connect-1'], ['connect-2', 'message']]);
    // Nothing is left waiting: a timer still pending would keep this test's process alive.
    await wait(5);
    expect(endpoint.writes).toHaveLength(2);
    queue.close();
  });

  test('without coalesceMs the flag changes nothing', async () => {
    const endpoint = new FakeEndpoint();
    const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000 });
    queue.push('connect-1', 1, true, true);
    await nextTurn();
    queue.push('connect-2', 1, true, true);
    await nextTurn();
    expect(endpoint.writes).toEqual([['connect-1'], ['connect-2']]);
  });

  test('close() cancels a coalescing wait: nothing is written afterwards', async () => {
    const endpoint = new FakeEndpoint();
    const queue = new BatchQueue<string>(endpoint, { maxMessages: 100, maxBytes: 1000, coalesceMs: 20 });
    queue.push('connect-1', 1, true, true);
    await nextTurn();
    queue.push('connect-2', 1, true, true);
    queue.close();
    await wait(40);
    expect(endpoint.writes).toEqual([['connect-1']]);
  });
});
