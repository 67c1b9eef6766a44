import { workerOfClientId } from '../../src/client-id';
import { closeAll, connect, eventually, startCluster, type TestClient } from '../helpers/cluster';

afterEach(closeAll);

async function chatter(port: number, name: string, deflate = false): Promise<{ client: TestClient; id: string }> {
  const client = await connect(port, '/chat', { perMessageDeflate: deflate });
  const welcome = await client.json<{ id: string }>((m) => m.type === 'welcome');
  client.sendJson({ type: 'hello', name });
  await client.json((m) => m.type === 'named');
  return { client, id: welcome.id };
}

test('the chat demo works across clients on different workers', async () => {
  const { port, server } = await startCluster();
  // Round-robin scheduling spreads connections; open until two sit on different workers.
  const ann = await chatter(port, 'ann');
  let bob = await chatter(port, 'bob');
  for (let tries = 0; workerOfClientId(bob.id) === workerOfClientId(ann.id) && tries < 10; tries++) {
    bob.client.socket.close();
    bob = await chatter(port, 'bob');
  }
  expect(workerOfClientId(bob.id)).not.toBe(workerOfClientId(ann.id));
  // Client counts reach stats() in the workers' status reports, a few milliseconds later.
  await eventually(() => server.stats().workers.filter((w) => w.clients > 0).length === 2);
  const workers = server.stats().workers.filter((w) => w.clients > 0).map((w) => w.id);
  expect(workers).toEqual(expect.arrayContaining([workerOfClientId(ann.id), workerOfClientId(bob.id)]));

  ann.client.sendJson({ type: 'create', room: 'den' });
  await ann.client.json((m) => m.type === 'joined' && m.room === 'den');
  // Live counts reach everyone, including clients not in the room.
  await bob.client.json((m) => m.type === 'rooms' && (m.rooms as Array<{ name: string; users: number }>).some((r) => r.name === 'den' && r.users === 1));

  bob.client.sendJson({ type: 'join', room: 'den' });
  const joined = await bob.client.json<{ users: string[] }>((m) => m.type === 'joined' && m.room === 'den');
  expect(joined.users.sort()).toEqual(['ann', 'bob']);
  await ann.client.json((m) => m.type === 'notice' && m.event === 'join' && m.name === 'bob');

  bob.client.sendJson({ type: 'say', text: 'hi ann' });
  ann.client.sendJson({ type: 'say', text: 'hi bob' });
  await ann.client.json((m) => m.type === 'message' && m.from === 'bob' && m.text === 'hi ann');
  await bob.client.json((m) => m.type === 'message' && m.from === 'ann' && m.text === 'hi bob');

  bob.client.socket.close();
  await ann.client.json((m) => m.type === 'notice' && m.event === 'leave' && m.name === 'bob');
  await ann.client.json((m) => m.type === 'rooms' && (m.rooms as Array<{ name: string; users: number }>).some((r) => r.name === 'den' && r.users === 1) && ann.client.messages.length > 0);
});

test('a room mixes compressing and plain clients: each gets every published message (shared frames only for the plain one)', async () => {
  const { port } = await startCluster({ perMessageDeflate: true });
  const zip = await chatter(port, 'zip', true);
  const raw = await chatter(port, 'raw');
  expect(zip.client.socket.extensions).toContain('permessage-deflate');
  expect(raw.client.socket.extensions).toBe('');
  zip.client.sendJson({ type: 'create', room: 'mix' });
  await zip.client.json((m) => m.type === 'joined' && m.room === 'mix');
  raw.client.sendJson({ type: 'join', room: 'mix' });
  await raw.client.json((m) => m.type === 'joined' && m.room === 'mix');
  const text = 'ü'.repeat(300);
  raw.client.sendJson({ type: 'say', text });
  for (const { client } of [zip, raw]) await client.json((m) => m.type === 'message' && m.from === 'raw' && m.text === text);
});

test('the chat answers bad input with typed errors and keeps the connection', async () => {
  const { port } = await startCluster();
  const client = await connect(port, '/chat');
  client.socket.send('not json');
  await client.json((m) => m.type === 'error' && m.code === 'bad-message');
  client.sendJson({ type: 'say', text: 'x' });
  await client.json((m) => m.type === 'error' && m.code === 'not-in-room');
  client.sendJson({ type: 'hello', name: 'x'.repeat(100) });
  await client.json((m) => m.type === 'error' && m.code === 'bad-name');
  client.sendJson({ type: 'hello', name: 'ok' });
  client.sendJson({ type: 'join', room: '../../etc' });
  await client.json((m) => m.type === 'error' && m.code === 'bad-room');
});

test('after a chat service restart, resumed clients are greeted again and rooms work after they rejoin', async () => {
  const { port, server } = await startCluster({ restartDelay: 20 });
  const ann = await chatter(port, 'ann');
  const bob = await chatter(port, 'bob');
  ann.client.sendJson({ type: 'create', room: 'den' });
  await ann.client.json((m) => m.type === 'joined' && m.room === 'den');
  bob.client.sendJson({ type: 'join', room: 'den' });
  await bob.client.json((m) => m.type === 'joined' && m.room === 'den');
  const back = new Promise((resolve) => server.once('serviceOnline', resolve));
  process.kill(server.stats().services.find((s) => s.name === 'chat')?.pid as number, 'SIGKILL');
  await back;
  // Both stay connected and are greeted again, marked resumed.
  for (const c of [ann, bob]) await c.client.json((m) => m.type === 'welcome' && m.resumed === true);
  // Before rejoining, the old room's routes are gone: ann's words in a new room do not reach bob.
  ann.client.messages.length = 0;
  bob.client.messages.length = 0;
  ann.client.sendJson({ type: 'hello', name: 'ann' });
  ann.client.sendJson({ type: 'create', room: 'den' });
  await ann.client.json((m) => m.type === 'joined' && m.room === 'den');
  ann.client.sendJson({ type: 'say', text: 'anyone?' });
  await ann.client.json((m) => m.type === 'message' && m.text === 'anyone?');
  expect(bob.client.messages.some((m) => typeof m === 'string' && m.includes('anyone?'))).toBe(false);
  // Once bob rejoins (as the page does on welcome), they talk again.
  bob.client.sendJson({ type: 'hello', name: 'bob' });
  bob.client.sendJson({ type: 'join', room: 'den' });
  await bob.client.json((m) => m.type === 'joined' && m.room === 'den');
  ann.client.sendJson({ type: 'say', text: 'welcome back' });
  await bob.client.json((m) => m.type === 'message' && m.text === 'welcome back');
});
