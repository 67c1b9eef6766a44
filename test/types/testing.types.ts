/**
 * Compile-time tests of `switchyard/testing` (tsc over test/ checks them):
 * the harness's fake clients take and give the service's own message types.
 */
import { Service } from '../../src/index';
import { testService } from '../../src/testing';
import TypedRoom, { type RoomOut } from '../fixtures/typed-room';

export async function typed(): Promise<void> {
  const room = await testService(TypedRoom);
  const ann = await room.connect({ user: 'ann' });
  await ann.send({ type: 'join', room: 'lobby' });
  const first: RoomOut | undefined = ann.received[0];
  const published: RoomOut | undefined = room.published[0]?.data;
  // @ts-expect-error a fake client sends the service's client message type
  await ann.send('plain text');
  // @ts-expect-error not a RoomIn
  await ann.send({ type: 'dance' });
  // @ts-expect-error received holds the service's server message type
  const wrong: string | undefined = ann.received[0];
  await ann.sendRaw('anything goes here, to test refusals');
  await room.stop();
  void [first, published, wrong];
}

export async function untyped(): Promise<void> {
  class Echo extends Service {}
  const echo = await testService(Echo);
  const bob = await echo.connect();
  await bob.send('text');
  await bob.send(Buffer.from('bytes'));
  const got: string | Buffer | undefined = bob.received[0];
  // @ts-expect-error an untyped service takes strings and Buffers
  await bob.send({ type: 'join' });
  await echo.stop();
  void got;
}
