/**
 * Two nodes joined through one nats-server, each a CLI process of its own
 * (`node:cluster` settings are process-wide): a client on node B reaches a
 * service placed on node A over NATS, and clients on both nodes share a chat
 * room. One pair of nodes for the whole file.
 */
import * as path from 'node:path';
import { closeClients, connect } from '../helpers/cluster';
import { describeWithNats, startNatsServer, stopAllNats, type NatsServer } from '../helpers/nats-server';
import { startNode, stopNodes, writeClusterConfig, type NodeProcess } from '../helpers/nats-nodes';
import { ROOT, stopSpawned } from '../helpers/spawned';

const EXAMPLES = path.join(ROOT, 'src', 'services', 'examples');

describeWithNats(__filename)('nodes joined through NATS', () => {
  let nats: NatsServer;
  let a: NodeProcess;
  let b: NodeProcess;

  beforeAll(async () => {
    nats = await startNatsServer();
    // Node b holds no instance: it is listed in cluster.nodes so that a accepts it.
    const config = writeClusterConfig(nats, { echo: { module: path.join(EXAMPLES, 'echo.ts'), node: 'a' }, chat: { module: path.join(EXAMPLES, 'chat.ts'), node: 'a' } }, ['a', 'b']);
    [a, b] = await Promise.all([startNode('a', config), startNode('b', config)]);
  }, 60_000);

  afterEach(() => closeClients());

  afterAll(async () => {
    await stopNodes([a, b]);
    stopSpawned();
    await stopAllNats();
  }, 30_000);

  test('a client on node B echoes through the service placed on node A', async () => {
    const client = await connect(b.port, '/echo');
    client.socket.send('over nats');
    client.socket.send('and back');
    expect(await client.received(2)).toEqual(['over nats', 'and back']);
    // A node's own client takes the Unix socket, as on one machine.
    const local = await connect(a.port, '/echo');
    local.socket.send('local');
    expect(await local.received(1)).toEqual(['local']);
  });

  test('one chat room with a client on each node: each hears the other', async () => {
    const onA = await connect(a.port, '/chat');
    const onB = await connect(b.port, '/chat');
    for (const [client, name] of [[onA, 'ann'], [onB, 'bob']] as const) {
      await client.json((m) => m.type === 'welcome');
      client.sendJson({ type: 'hello', name });
      await client.json((m) => m.type === 'named');
      client.sendJson({ type: 'join', room: 'lobby' });
      await client.json((m) => m.type === 'joined' || m.type === 'members' || m.room === 'lobby');
    }
    onB.sendJson({ type: 'say', text: 'hi from b' });
    onA.sendJson({ type: 'say', text: 'hi from a' });
    for (const client of [onA, onB]) {
      await client.json((m) => m.type === 'message' && m.text === 'hi from b' && m.from === 'bob');
      await client.json((m) => m.type === 'message' && m.text === 'hi from a' && m.from === 'ann');
    }
  });
});
