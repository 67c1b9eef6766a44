import type { WebSocket } from 'ws';
import { SocketCorker } from '../../src/worker/socket-corker';

function fakeSocket(): { ws: WebSocket; calls: string[] } {
  const calls: string[] = [];
  const tcp = { cork: () => calls.push('cork'), uncork: () => calls.push('uncork') };
  return { ws: { _socket: tcp } as unknown as WebSocket, calls };
}

test('each socket touched in a batch is corked once and uncorked after the batch', () => {
  const corker = new SocketCorker();
  const a = fakeSocket();
  const b = fakeSocket();
  corker.batch(() => {
    corker.touch(a.ws);
    corker.touch(a.ws);
    corker.touch(b.ws);
    a.calls.push('write');
    expect(a.calls).toEqual(['cork', 'write']);
  });
  expect(a.calls).toEqual(['cork', 'write', 'uncork']);
  expect(b.calls).toEqual(['cork', 'uncork']);
});

test('outside a batch nothing is corked; a throwing batch still uncorks', () => {
  const corker = new SocketCorker();
  const a = fakeSocket();
  corker.touch(a.ws);
  expect(a.calls).toEqual([]);
  expect(() =>
    corker.batch(() => {
      corker.touch(a.ws);
      throw new Error('boom');
    }),
  ).toThrow('boom');
  expect(a.calls).toEqual(['cork', 'uncork']);
});
