/**
 * `testService` (switchyard/testing) drives the real ServiceHost without a
 * cluster: these tests check that what it reports is what a cluster does
 * (the same decoding, lanes, acks, envelope answers), with fixtures that the
 * integration tests run in real clusters too.
 */
import { isSwitchyardError } from '../../src/errors';
import { Service } from '../../src/services/service';
import { testService, TestRequestError, type ServiceHarness } from '../../src/testing';
import TypedEcho from '../fixtures/typed-echo';
import TypedRoom from '../fixtures/typed-room';

const harnesses: Array<ServiceHarness<Service<unknown, unknown>>> = [];

async function run<S extends Service<unknown, unknown>>(ServiceClass: new () => S): Promise<ServiceHarness<S>> {
  const harness = await testService(ServiceClass, { name: 'room', requestTimeout: 200 });
  harnesses.push(harness as unknown as ServiceHarness<Service<unknown, unknown>>);
  return harness;
}

afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.stop();
});

test('a typed service with a schema: parsed messages reach onMessage, refusals are replies, counted, and the handler is not called', async () => {
  const echo = await run(TypedEcho);
  const ann = await echo.connect();
  await ann.send({ type: 'say', text: 'hi' });
  await ann.sendRaw('not json');
  await ann.sendRaw('{"type":"say","text":""}');
  await ann.send({ type: 'ping' });
  expect(ann.received).toEqual([{ type: 'said', text: 'hi' }, { type: 'pong', seen: 2 }]);
  expect(ann.rejections).toEqual([
    { code: 'SY_ERR_INVALID_MESSAGE', message: 'message is not valid JSON' },
    { code: 'SY_ERR_INVALID_MESSAGE', message: "message does not match the service's schema (1 issue)", issues: [{ message: 'text must have 1 to 100 characters', path: ['text'] }] },
  ]);
  expect(echo.stats).toEqual({ handlerErrors: 0, invalidJson: 1, invalidSchema: 1 });
});

test('lifecycle, topics, broadcast, close and the Client object', async () => {
  const room = await run(TypedRoom);
  expect(room.service.started).toBe(true);
  const ann = await room.connect({ user: 'ann', query: { lang: 'en' } });
  const bob = await room.connect();
  // onConnect is async: its send is there once connect() resolved.
  expect(ann.received).toEqual([{ type: 'welcome', user: 'ann' }]);
  expect(ann.info).toBe(room.service.clients.get(ann.id));
  expect(ann.info).toMatchObject({ service: 'room', path: '/room', query: { lang: 'en' }, user: 'ann', resumed: false });

  await ann.send({ type: 'join', room: 'lobby' });
  await bob.send({ type: 'join', room: 'lobby' });
  expect(ann.topics).toEqual(new Set(['lobby']));
  expect(ann.received.slice(1)).toEqual([{ type: 'joined', room: 'lobby', who: ann.id }, { type: 'joined', room: 'lobby', who: bob.id }]);
  expect(bob.received.slice(1)).toEqual([{ type: 'joined', room: 'lobby', who: bob.id }]);
  expect(room.published.map((p) => p.topic)).toEqual(['lobby', 'lobby']);

  await ann.send({ type: 'shout', text: 'hey' });
  expect(bob.received.at(-1)).toEqual({ type: 'shout', text: 'hey' });
  expect(ann.received.at(-1)).not.toEqual({ type: 'shout', text: 'hey' });
  expect(room.broadcasts).toEqual([{ type: 'shout', text: 'hey' }]);

  await bob.send({ type: 'quit' });
  expect(bob.closed).toEqual({ code: 4000, reason: 'bye' });
  // The worker's report of the close comes after the handler, as in a cluster: then onClose runs.
  await room.settled();
  expect(room.service.closes).toEqual([{ id: bob.id, code: 4000 }]);
  expect(room.clients.has(bob.id)).toBe(false);

  await room.stop();
  expect(room.service.closes).toEqual([{ id: bob.id, code: 4000 }, { id: ann.id, code: 1001 }]);
  expect(room.service.stopped).toBe(true);
});

test('a handler that throws rejects its event with the error, is counted, and the client stays', async () => {
  const room = await run(TypedRoom);
  const ann = await room.connect();
  await expect(ann.send({ type: 'boom' })).rejects.toThrow('boom');
  expect(room.errors).toHaveLength(1);
  expect(room.stats.handlerErrors).toBe(1);
  await ann.send({ type: 'join', room: 'x' });
  expect(ann.received.at(-1)).toEqual({ type: 'joined', room: 'x', who: ann.id });
});

test('requests: over HTTP and in the WebSocket envelope, answers and errors', async () => {
  const room = await run(TypedRoom);
  const ann = await room.connect();
  await ann.send({ type: 'join', room: 'lobby' });
  const http = await room.request({ query: { room: 'lobby' } });
  expect(http.status).toBe(200);
  expect(JSON.parse(String(http.body))).toEqual({ room: 'lobby', members: 1 });
  expect((await room.request()).status).toBe(400);
  await expect(ann.request({ room: 'lobby' })).resolves.toEqual({ room: 'lobby', members: 1 });
  const refused = ann.request({});
  await expect(refused).rejects.toBeInstanceOf(TestRequestError);
  await expect(refused).rejects.toMatchObject({ code: 'NO_ROOM' });
});

test('untyped services get strings and Buffers, as in a cluster', async () => {
  class Echo extends Service {
    override onMessage(client: { readonly id: string }, data: string | Buffer): void {
      this.send(client.id, data);
    }
  }
  const echo = await run(Echo);
  const ann = await echo.connect();
  await ann.send('text');
  await ann.send(Buffer.from([1, 2, 3]));
  expect(ann.received).toEqual(['text', Buffer.from([1, 2, 3])]);
});

test('what a cluster refuses to start, testService refuses too', async () => {
  class BadFormat extends Service {
    override readonly messageFormat = 'xml' as never;
  }
  for (const ServiceClass of [BadFormat, Object as never]) {
    const error: unknown = await testService(ServiceClass).then(() => undefined, (caught: unknown) => caught);
    expect(isSwitchyardError(error, 'SY_ERR_INVALID_ARGUMENT')).toBe(true);
  }
});
