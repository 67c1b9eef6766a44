/**
 * The client with `messageFormat: 'json'` (the typed form) against the fake
 * socket: what it parses, how it reports a typed service's refusal and a
 * frame that is not JSON, and that the untyped client is unchanged.
 */
import { connect, type RejectedInfo, type SwitchyardClientError } from '../../src/client';
import { FakeSocket } from './fake-socket';

type ServerMessage = { readonly type: 'said'; readonly text: string };
type ClientMessage = { readonly type: 'say'; readonly text: string };

const clients: Array<{ close(): void }> = [];

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  FakeSocket.reset();
});

async function opened<C extends { close(): void }>(client: C): Promise<{ client: C; socket: FakeSocket }> {
  clients.push(client);
  // The WebSocket class is resolved asynchronously: the first attempt exists after a tick.
  await new Promise((resolve) => setImmediate(resolve));
  const socket = FakeSocket.last();
  socket.open();
  return { client, socket };
}

test('typed: messages arrive parsed, sends go as JSON, a refusal is a rejected event', async () => {
  const { client, socket } = await opened(connect<ServerMessage, ClientMessage>('ws://test.invalid/chat', { WebSocket: FakeSocket, messageFormat: 'json' }));
  const messages: ServerMessage[] = [];
  const rejections: RejectedInfo[] = [];
  const errors: SwitchyardClientError[] = [];
  client.on('message', (message) => messages.push(message));
  client.on('rejected', (info) => rejections.push(info));
  client.on('error', (error) => errors.push(error));

  expect(client.send({ type: 'say', text: 'hi' })).toBe(true);
  expect(socket.sentJson()).toEqual([{ type: 'say', text: 'hi' }]);
  socket.message('{"type":"said","text":"hi"}');
  const refusal = { $error: { code: 'SY_ERR_INVALID_MESSAGE', message: 'bad', issues: [{ message: 'text must be a string', path: ['text'] }] } };
  socket.message(JSON.stringify(refusal));
  socket.message('not json');
  socket.message(new ArrayBuffer(2));

  expect(messages).toEqual([{ type: 'said', text: 'hi' }]);
  expect(rejections).toEqual([refusal.$error]);
  expect(errors.map((error) => error.code)).toEqual(['SY_CLIENT_INVALID_MESSAGE', 'SY_CLIENT_INVALID_MESSAGE']);
  expect(client.state).toBe('open');
  expect(() => client.send(new Uint8Array(1) as never)).toThrow(expect.objectContaining({ code: 'SY_CLIENT_INVALID_ARGUMENT' }));
});

test('untyped: text stays a string, even one that looks like a refusal', async () => {
  const { client, socket } = await opened(connect('ws://test.invalid/chat', { WebSocket: FakeSocket }));
  const messages: unknown[] = [];
  client.on('message', (message) => messages.push(message));
  client.on('rejected', () => messages.push('rejected'));
  socket.message('{"$error":{"code":"X","message":"y"}}');
  socket.message('not json');
  expect(messages).toEqual(['{"$error":{"code":"X","message":"y"}}', 'not json']);
});

test('messageFormat other than json is refused at once', () => {
  expect(() => connect('ws://test.invalid/chat', { WebSocket: FakeSocket, messageFormat: 'xml' as never })).toThrow(expect.objectContaining({ code: 'SY_CLIENT_INVALID_ARGUMENT' }));
});
