import { EventEmitter } from 'node:events';
import { SignalHandlers, type SignalTarget } from '../../src/master/signals';
import { recordingLogger } from '../helpers/recording-logger';

/** A server whose reload() and close() settle when the test says so. */
function fakeServer(state = 'listening'): SignalTarget & { reloads: number; reloadedWith: unknown[]; closes: number; finishClose(ok: boolean): void } {
  const { log } = recordingLogger();
  let settle: ((ok: boolean) => void) | undefined;
  const server = {
    state,
    log,
    reloads: 0,
    closes: 0,
    reloadedWith: [] as unknown[],
    reload: (options?: unknown) => {
      server.reloads++;
      server.reloadedWith.push(options);
      return Promise.resolve();
    },
    close: () => {
      server.closes++;
      return new Promise<void>((resolve, reject) => {
        settle = (ok) => (ok ? resolve() : reject(new Error('stuck')));
      });
    },
    finishClose: (ok: boolean) => settle?.(ok),
  };
  return server;
}

function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

test('SIGHUP reloads a listening server; SIGTERM stops it, then exits 0', async () => {
  const target = new EventEmitter();
  const server = fakeServer();
  const exits: number[] = [];
  new SignalHandlers(server, {}, target, (code) => exits.push(code));
  target.emit('SIGHUP', 'SIGHUP');
  await flush();
  expect(server.reloads).toBe(1);
  target.emit('SIGTERM', 'SIGTERM');
  expect(server.closes).toBe(1);
  // A SIGHUP during the stop does not reload (nor kill).
  target.emit('SIGHUP', 'SIGHUP');
  await flush();
  expect(server.reloads).toBe(1);
  expect(exits).toEqual([]);
  server.finishClose(true);
  await flush();
  expect(exits).toEqual([0]);
});

test('a second stop signal exits at once with 1; a failed stop exits 1', async () => {
  const target = new EventEmitter();
  const server = fakeServer();
  const exits: number[] = [];
  new SignalHandlers(server, {}, target, (code) => exits.push(code));
  target.emit('SIGINT', 'SIGINT');
  target.emit('SIGTERM', 'SIGTERM');
  expect(exits).toEqual([1]);
  expect(server.closes).toBe(1);
  server.finishClose(false);
  await flush();
  expect(exits).toEqual([1, 1]);
});

test('SIGHUP while not listening is ignored, not fatal', () => {
  const target = new EventEmitter();
  const server = fakeServer('starting');
  new SignalHandlers(server, {}, target, () => undefined);
  target.emit('SIGHUP', 'SIGHUP');
  expect(server.reloads).toBe(0);
});

test('exit: false stops without exiting and takes its listeners off', async () => {
  const target = new EventEmitter();
  const server = fakeServer();
  const exits: number[] = [];
  new SignalHandlers(server, { exit: false }, target, (code) => exits.push(code));
  expect(target.listenerCount('SIGHUP')).toBe(1);
  expect(target.listenerCount('SIGTERM')).toBe(1);
  target.emit('SIGTERM', 'SIGTERM');
  server.finishClose(true);
  await flush();
  expect(exits).toEqual([]);
  expect(['SIGHUP', 'SIGTERM', 'SIGINT'].map((signal) => target.listenerCount(signal))).toEqual([0, 0, 0]);
});

test('each SIGHUP asks reloadOptions what to reload with, at that moment', async () => {
  const target = new EventEmitter();
  const server = fakeServer();
  let count = 1;
  new SignalHandlers(server, { reloadOptions: async () => ({ instances: { chat: count++ } }) }, target, () => undefined);
  target.emit('SIGHUP', 'SIGHUP');
  await flush();
  target.emit('SIGHUP', 'SIGHUP');
  await flush();
  expect(server.reloadedWith).toEqual([{ instances: { chat: 1 } }, { instances: { chat: 2 } }]);
});
